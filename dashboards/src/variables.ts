/**
 * The variables every hoptrace dashboard has (data source, system, destination, consumer group) and
 * the label matchers panels use to honour them.
 */
import {
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { RECORD_DLQ_MESSAGES, RECORD_LAG_MESSAGES } from '../../alerts/src/names.js';
import {
  LABEL_CONSUMER_GROUP,
  LABEL_DESTINATION,
  LABEL_MESSAGING_SYSTEM,
  METRIC_CONSUMED_MESSAGES,
  METRIC_SENT_MESSAGES,
} from '../../instrumentation/core/semconv.js';

export const DATASOURCE_VARIABLE = 'datasource';
/** Every panel and target queries the data source the variable selects. */
export const PROMETHEUS = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };
/** The uids the provisioning files give the data sources (dashboards/provisioning/datasources). */
export const PROMETHEUS_UID = 'hoptrace-prometheus';
export const JAEGER_UID = 'hoptrace-jaeger';

export const RATE_INTERVAL = '$__rate_interval';

/** Matchers for the system and destination variables (producer-side series have no group). */
export const DESTINATION_FILTER = `${LABEL_MESSAGING_SYSTEM}=~"$system", ${LABEL_DESTINATION}=~"$destination"`;
/** Matchers for all three variables. */
export const CONSUMER_FILTER = `${DESTINATION_FILTER}, ${LABEL_CONSUMER_GROUP}=~"$group"`;

/**
 * Series that carry the variables' labels, wrapper-side and broker-side, so the lists work whether a
 * system is instrumented, watched by the collector, or only scraped through an exporter adapter.
 * A name matcher is needed: Prometheus refuses selectors whose matchers all match the empty string.
 */
const destinationSeries = [
  METRIC_SENT_MESSAGES,
  METRIC_CONSUMED_MESSAGES,
  RECORD_LAG_MESSAGES,
  RECORD_DLQ_MESSAGES,
];
const groupSeries = [METRIC_CONSUMED_MESSAGES, RECORD_LAG_MESSAGES];

function labelValues(label: string, series: string[], matchers: string): string {
  return `label_values({__name__=~"${series.join('|')}", ${matchers}}, ${label})`;
}

function listVariable(name: string, label: string, query: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all' });
}

export function standardVariables() {
  return [
    new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus'),
    listVariable('system', 'System', `label_values(${LABEL_MESSAGING_SYSTEM})`),
    listVariable(
      'destination',
      'Destination',
      labelValues(LABEL_DESTINATION, destinationSeries, `${LABEL_MESSAGING_SYSTEM}=~"$system"`),
    ),
    listVariable(
      'group',
      'Consumer group',
      labelValues(LABEL_CONSUMER_GROUP, groupSeries, DESTINATION_FILTER),
    ),
  ];
}
