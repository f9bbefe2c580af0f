/**
 * Broker state for the flow map, read back from the gauges the monitors set (the monitors stay the
 * single writer; the map only reads their last poll).
 */
import type { BrokerSnapshot } from '../journey/map.js';
import type { CollectorMetrics } from '../metrics.js';

type Labels = Partial<Record<string, string | number>>;

async function values(gauge: { get(): Promise<{ values: { labels: Labels; value: number }[] }> }) {
  return (await gauge.get()).values;
}

const str = (v: string | number | undefined): string => (v === undefined ? '' : String(v));

export async function brokerSnapshot(metrics: CollectorMetrics): Promise<BrokerSnapshot> {
  const destinations = new Map<string, BrokerSnapshot['destinations'][number]>();
  const destination = (labels: Labels) => {
    const system = str(labels.messaging_system);
    const name = str(labels.messaging_destination_name);
    const key = `${system}\u0000${name}`;
    let d = destinations.get(key);
    if (!d) {
      d = { system, destination: name };
      destinations.set(key, d);
    }
    return d;
  };
  for (const v of await values(metrics.queueMessages)) {
    const d = destination(v.labels);
    d.depth = (d.depth ?? 0) + v.value;
  }
  for (const v of await values(metrics.dlqMessages)) {
    const d = destination(v.labels);
    // One series per source queue, each with the same count: the depth is that count.
    d.dlqDepth = Math.max(d.dlqDepth ?? 0, v.value);
    // The label joins the source queues with commas.
    const sources = str(v.labels.dead_letter_source)
      .split(',')
      .filter((s) => s !== '');
    if (sources.length > 0) d.deadLetterSources = [...(d.deadLetterSources ?? []), ...sources];
  }
  const lag = new Map<string, BrokerSnapshot['lag'][number]>();
  const lagOf = (labels: Labels) => {
    const entry = {
      system: str(labels.messaging_system),
      destination: str(labels.messaging_destination_name),
      group: str(labels.messaging_consumer_group_name),
    };
    const key = `${entry.system}\u0000${entry.destination}\u0000${entry.group}`;
    let l = lag.get(key);
    if (!l) {
      l = entry;
      lag.set(key, l);
    }
    return l;
  };
  // Partitions add up in messages; the oldest partition gives the age.
  for (const v of await values(metrics.lagMessages)) {
    const l = lagOf(v.labels);
    l.messages = (l.messages ?? 0) + v.value;
  }
  for (const v of await values(metrics.lagSeconds)) {
    const l = lagOf(v.labels);
    l.seconds = Math.max(l.seconds ?? 0, v.value);
  }
  return { destinations: [...destinations.values()], lag: [...lag.values()] };
}
