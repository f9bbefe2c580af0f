/**
 * The frame every hoptrace dashboard shares: uid, tags, variables, links (Jaeger search and the other
 * hoptrace dashboards), rows of panels, and stable panel ids.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type Panel,
  RowBuilder,
  type RowPanel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { JAEGER_UID, standardVariables } from './variables.js';

export const DASHBOARD_TAG = 'hoptrace';

export interface Section {
  title: string;
  panels: cog.Builder<Panel>[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  sections: Section[];
}

/** Grafana Explore on the Jaeger data source, search form open: find traces by service or tag. */
export function jaegerSearchUrl(): string {
  const panes = {
    jaeger: {
      datasource: JAEGER_UID,
      queries: [{ refId: 'A', datasource: { type: 'jaeger', uid: JAEGER_UID }, queryType: 'search' }],
      range: { from: 'now-1h', to: 'now' },
    },
  };
  return `/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

/**
 * Panel ids in layout order, rows included: stable across rebuilds as long as the layout is, which
 * keeps `viewPanel=<id>` links working.
 */
function numberPanels(dashboard: Dashboard): Dashboard {
  let id = 1;
  for (const panel of (dashboard.panels ?? []) as (Panel | RowPanel)[]) panel.id = id++;
  return dashboard;
}

/**
 * The SDK defaults links to `placement: inControlsMenu`, which Grafana 12 folds into a menu; without
 * it they show in the dashboard header, in every Grafana version.
 */
function linksInHeader(dashboard: Dashboard): Dashboard {
  for (const link of dashboard.links ?? []) delete link.placement;
  return dashboard;
}

export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([DASHBOARD_TAG])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .timezone('browser')
    .variables(standardVariables())
    .link(
      new DashboardLinkBuilder('hoptrace')
        .type(DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .link(
      new DashboardLinkBuilder('Jaeger search')
        .type(DashboardLinkType.Link)
        .icon('external link')
        .tooltip('Search traces in Jaeger (Grafana Explore)')
        .url(jaegerSearchUrl())
        .targetBlank(true)
        .keepTime(true),
    );
  for (const section of spec.sections) {
    builder.withRow(new RowBuilder(section.title));
    for (const panel of section.panels) builder.withPanel(panel);
  }
  return linksInHeader(numberPanels(builder.build()));
}
