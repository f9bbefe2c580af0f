/**
 * `startCollector`: wires config, metrics, linker, forwarder, monitors, scale-out and the HTTP
 * routes together, and `close()` takes them down in order (stop taking spans, stop timers and
 * monitors, flush the forwarder).
 */

import { randomUUID } from 'node:crypto';
import { MonitorRunner } from '../monitors/runner.js';
import { type CollectorOptions, resolveConfig } from './config.js';
import { HoptraceError } from './errors.js';
import { Forwarder } from './exporter/forwarder.js';
import { type KafkaTopicScaleOut, startKafkaTopicScaleOut } from './exporter/kafka-topic.js';
import { Linker, pickLinkerLimits } from './linker/linker.js';
import { CollectorMetrics } from './metrics.js';
import { createMonitors } from './monitors/index.js';
import { brokerSnapshot } from './monitors/snapshot.js';
import { recordsToResourceSpans } from './otlp/records.js';
import { LoadShedder } from './receiver/load-shedder.js';
import { otlpRoutes } from './receiver/otlp-http.js';
import { healthRoutes } from './routes/health.js';
import { journeyRoutes } from './routes/journeys.js';
import { mapRoutes } from './routes/map.js';
import { metricsRoutes } from './routes/metrics.js';
import { INSTANCE_HEADER, Peers } from './routes/peers.js';
import { uiRoutes } from './routes/ui.js';
import { HttpServer, logger } from './server.js';
import type { SpanRecord, SpanSink } from './types.js';

export interface Collector {
  /** The port actually bound (useful with `port: 0`). */
  readonly port: number;
  readonly host: string;
  /** Base URL, e.g. `http://127.0.0.1:4318`. */
  readonly url: string;
  readonly linker: Linker;
  readonly metrics: CollectorMetrics;
  /** Feeds spans in process (no HTTP), e.g. from an OTel SDK span processor via `fromReadableSpan`. */
  ingestSpans(spans: SpanRecord[]): Promise<void>;
  /** Polls every broker monitor once now. */
  pollMonitors(): Promise<void>;
  /** Stops everything: server, timers, monitors, scale-out clients; flushes the forwarder. Idempotent. */
  close(): Promise<void>;
}

export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const config = resolveConfig(options);
  let linker: Linker | undefined;
  const metrics = new CollectorMetrics({
    maxLabelValues: config.limits.maxLabelValues,
    trackedMessages: () => linker?.stats() ?? { publish: 0, pending_delivery: 0, journey: 0 },
  });
  const forwarder = config.forwardOtlpUrl
    ? new Forwarder(config.forwardOtlpUrl, config.forward, metrics)
    : undefined;
  const localLinker = new Linker({
    limits: pickLinkerLimits(config.limits),
    metrics,
    now: config.now,
    onSyntheticSpans: forwarder ? (spans) => forwarder.enqueue(recordsToResourceSpans(spans)) : undefined,
  });
  linker = localLinker;

  const monitors = new MonitorRunner(createMonitors(config), metrics, logger);
  const localSink: SpanSink = {
    messagingOnly: true,
    accept: (spans) => localLinker.ingest(spans),
  };
  let scaleOut: KafkaTopicScaleOut | undefined;
  if (config.scaleOut) {
    try {
      scaleOut = await startKafkaTopicScaleOut(config.scaleOut, metrics, (spans) =>
        localLinker.ingest(spans),
      );
    } catch (err) {
      if (err instanceof HoptraceError) throw err;
      throw new HoptraceError(
        'HOPTRACE_COLLECTOR_SCALEOUT_FAILED',
        `cannot start the Kafka scale-out: ${(err as Error).message}`,
        {
          cause: err,
          retriable: true,
        },
      );
    }
  }
  // Ingesting instances of a scale-out publish to the topic; every other span goes to the local linker.
  const sink = scaleOut?.sink ?? localSink;
  // Holder so routes can ask the server whether it is closing.
  const state = { closing: false };
  const shedder = new LoadShedder({ busyPercent: config.limits.shedAboveBusyPercent });
  const instanceId = randomUUID();
  const peers = config.scaleOut?.peers.length
    ? new Peers(config.scaleOut.peers, instanceId, config.token)
    : undefined;
  const server = new HttpServer({
    token: config.token,
    headers: { [INSTANCE_HEADER]: instanceId },
    routes: [
      ...otlpRoutes({
        limits: config.limits,
        metrics,
        sink,
        forward: forwarder
          ? (request, bytes) => forwarder.enqueue(request.resourceSpans ?? [], bytes)
          : undefined,
        isClosing: () => state.closing,
        shedder,
      }),
      // Kafka lag is polled again at scrape time when older than a second; at most 2 s of waiting.
      ...metricsRoutes(metrics, () => monitors.refreshStale(2000)),
      ...healthRoutes({
        isClosing: () => state.closing,
        readiness: () => ({ http: true, ...scaleOut?.readiness() }),
        sources: () => monitors.sources(),
      }),
      ...journeyRoutes(localLinker, peers),
      ...mapRoutes({
        reader: localLinker,
        now: config.now,
        broker: () => brokerSnapshot(metrics),
        peers,
        settings: {
          refreshMs: config.ui.refreshMs,
          ...(config.ui.jaegerUrl ? { jaegerUrl: config.ui.jaegerUrl.href.replace(/\/$/, '') } : {}),
        },
      }),
      ...uiRoutes(),
    ],
  });

  let address: { port: number; address: string };
  try {
    address = await server.listen(config.port, config.host);
  } catch (err) {
    await monitors.stop();
    throw new HoptraceError(
      'HOPTRACE_COLLECTOR_LISTEN_FAILED',
      `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const sweep = setInterval(() => {
    try {
      localLinker.sweep();
    } catch (err) {
      // A bug here must not take the process down with it; the next sweep tries again.
      logger.error('linker sweep failed', err);
    }
  }, config.limits.sweepIntervalMs);
  sweep.unref();
  monitors.start();

  const host = address.address;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    host,
    url: `http://${urlHost}:${address.port}`,
    linker: localLinker,
    metrics,
    async ingestSpans(spans) {
      metrics.spansReceived.inc({ source: 'sdk' }, spans.length);
      await sink.accept(spans);
    },
    pollMonitors: () => monitors.pollAll(),
    close() {
      closing ??= (async () => {
        state.closing = true;
        clearInterval(sweep);
        shedder.close();
        await server.close();
        await scaleOut?.close();
        await monitors.stop();
        await forwarder?.close();
      })();
      return closing;
    },
  };
}
