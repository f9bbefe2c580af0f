/**
 * The benchmark suite: which workloads run, in which modes, at what scale, and the targets each must
 * meet. `scripts/bench.ts` runs it; `bench/report.ts` renders it.
 */

export type Server = 'rabbitmq' | 'kafka' | 'redis' | 'sqs' | 'pubsub';

/** A value of a mode's result: its main `value`, or one of its `extra` numbers. */
export type Metric = 'value' | string;

/**
 * A target: `ratio` compares two modes of one run round by round (median of the per-round ratios);
 * `absolute` checks a mode's median.
 */
export type Target =
  | {
      kind: 'ratio';
      label: string;
      metric: Metric;
      mode: string;
      versus: string;
      atLeast?: number;
      atMost?: number;
      /** The lowest any single round may be (checked on the paired ratio's min). */
      floor?: number;
    }
  | { kind: 'absolute'; label: string; metric: Metric; mode: string; atLeast?: number; atMost?: number };

export interface WorkloadSpec {
  name: string;
  title: string;
  /** Printed under the title: what bounds the figures and how to read them. */
  notes?: string;
  /** `bench/workloads/<script>.ts`. */
  script: string;
  /** Passed after `<mode> <scale>`. */
  args: string[];
  /** Node.js options for the workload process (e.g. `--expose-gc`). */
  nodeArgs?: string[];
  modes: string[];
  /** The mode every other mode is compared with in the ratio table. */
  baseline: string;
  /** False: no ratios against the baseline (its modes measure different things). */
  baselineRatios?: false;
  /** More `[mode, versus]` ratios worth reporting (targets' ratios are always reported). */
  pairs?: [mode: string, versus: string][];
  /** Metrics reported besides `value`, with their display names and whether higher is better. */
  metrics: { metric: Metric; label: string; unit: string; higherIsBetter: boolean }[];
  scale: { full: number; quick: number };
  needs?: Server;
  targets: Target[];
}

const THROUGHPUT = { metric: 'value', label: 'throughput', unit: 'msg/s', higherIsBetter: true };
/** Node-side CPU (user + system) per message while the throughput clock runs; the broker's is not in it. */
const CPU_PER_MESSAGE = {
  metric: 'cpu_us_per_msg',
  label: 'client CPU per message',
  unit: 'us',
  higherIsBetter: false,
};

export const SUITE: WorkloadSpec[] = [
  {
    name: 'fanout',
    title: 'In-process fan-out to 3 subscribers',
    script: 'fanout',
    args: [],
    modes: [
      'event-emitter',
      'otel-event-emitter',
      'otel-spans-only-sampled',
      'otel-spans-only-unsampled',
      'otel-contract-spans-sampled',
      'otel-contract-spans-unsampled',
      'hoptrace-bus-sampled',
      'hoptrace-bus-unsampled',
    ],
    baseline: 'event-emitter',
    pairs: [
      ['hoptrace-bus-sampled', 'otel-event-emitter'],
      ['hoptrace-bus-sampled', 'otel-spans-only-sampled'],
      ['hoptrace-bus-unsampled', 'otel-spans-only-unsampled'],
      // The same spans with the contract's attributes: what the SDK alone charges for the Bus's span content.
      ['otel-contract-spans-sampled', 'otel-spans-only-sampled'],
      ['hoptrace-bus-sampled', 'otel-contract-spans-sampled'],
      ['hoptrace-bus-unsampled', 'otel-contract-spans-unsampled'],
    ],
    metrics: [
      { metric: 'value', label: 'per emit', unit: 'us', higherIsBetter: false },
      { metric: 'us_per_delivery', label: 'per delivery', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    targets: [
      {
        kind: 'ratio',
        label: 'hoptrace Bus, sampled: <= 1.3 x bare SDK spans per emit',
        metric: 'value',
        mode: 'hoptrace-bus-sampled',
        versus: 'otel-spans-only-sampled',
        atMost: 1.3,
      },
      {
        kind: 'absolute',
        label: 'hoptrace Bus, not sampled: <= 1.5 us per delivery',
        metric: 'us_per_delivery',
        mode: 'hoptrace-bus-unsampled',
        atMost: 1.5,
      },
    ],
  },
  {
    name: 'amqp',
    title: 'amqplib round trip, 256 B, prefetch 500, ack each',
    script: 'amqp',
    args: [],
    modes: [
      'raw',
      'headers-floor',
      'headers-full',
      'headers-contract',
      'contract-spans',
      'otel-contrib',
      'hoptrace',
    ],
    baseline: 'raw',
    pairs: [
      ['headers-contract', 'headers-full'],
      ['hoptrace', 'headers-contract'],
      ['hoptrace', 'contract-spans'],
    ],
    metrics: [
      THROUGHPUT,
      CPU_PER_MESSAGE,
      { metric: 'p50_us', label: 'p50 latency, one at a time', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    needs: 'rabbitmq',
    targets: [
      {
        kind: 'ratio',
        label: 'throughput >= 1.25 x OTel contrib (never below 1.05x)',
        metric: 'value',
        mode: 'hoptrace',
        versus: 'otel-contrib',
        atLeast: 1.25,
        floor: 1.05,
      },
      {
        kind: 'ratio',
        label: 'client CPU per message <= 0.8 x OTel contrib',
        metric: 'cpu_us_per_msg',
        mode: 'hoptrace',
        versus: 'otel-contrib',
        atMost: 0.8,
      },
      {
        kind: 'ratio',
        label: 'unloaded p50 latency <= 1.2 x raw',
        metric: 'p50_us',
        mode: 'hoptrace',
        versus: 'raw',
        atMost: 1.2,
      },
    ],
  },
  ...(['each-message', 'each-batch'] as const).map(
    (style): WorkloadSpec => ({
      name: `kafka-${style}`,
      title: `kafkajs produce + consume (${style === 'each-message' ? 'eachMessage' : 'eachBatch'}), 256 B`,
      script: 'kafka',
      args: [style],
      modes: [
        'raw',
        'headers-floor',
        'headers-full',
        'headers-contract',
        'contract-spans',
        'otel-contrib',
        'hoptrace',
      ],
      baseline: 'raw',
      pairs: [
        ['headers-contract', 'headers-full'],
        ['hoptrace', 'headers-contract'],
        ['hoptrace', 'contract-spans'],
      ],
      metrics: [THROUGHPUT, CPU_PER_MESSAGE],
      scale: { full: 1, quick: 0.3 },
      needs: 'kafka',
      targets: [
        {
          kind: 'ratio',
          label: 'throughput >= 1.25 x OTel contrib (never below 1.05x)',
          metric: 'value',
          mode: 'hoptrace',
          versus: 'otel-contrib',
          atLeast: 1.25,
          floor: 1.05,
        },
        {
          kind: 'ratio',
          label: 'client CPU per message <= 0.8 x OTel contrib',
          metric: 'cpu_us_per_msg',
          mode: 'hoptrace',
          versus: 'otel-contrib',
          atMost: 0.8,
        },
      ],
    }),
  ),
  {
    name: 'bullmq',
    title: 'BullMQ round trip on Redis, 256 B jobs, worker concurrency 50',
    script: 'bullmq',
    args: [],
    modes: ['raw', 'headers-floor', 'bullmq-otel', 'hoptrace'],
    baseline: 'raw',
    pairs: [['hoptrace', 'bullmq-otel']],
    metrics: [
      THROUGHPUT,
      CPU_PER_MESSAGE,
      { metric: 'p50_us', label: 'p50 latency, one at a time', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    needs: 'redis',
    // No target in the issue; the client's own tracing (bullmq-otel) is the comparison.
    targets: [],
  },
  {
    name: 'sqs',
    title:
      'SQS round trip on moto: SendMessageBatch of 10, ReceiveMessage (long poll, 10) + DeleteMessageBatch, 256 B',
    script: 'sqs',
    args: [],
    notes:
      'moto (the SQS emulator, a Python server that closes each HTTP connection) bounds throughput and latency: ' +
      'compare the modes by client CPU per message. Latency: one message at a time with SendMessage.',
    modes: ['raw', 'attributes-floor', 'otel-contrib', 'hoptrace'],
    baseline: 'raw',
    pairs: [
      ['hoptrace', 'otel-contrib'],
      ['hoptrace', 'attributes-floor'],
    ],
    metrics: [
      THROUGHPUT,
      CPU_PER_MESSAGE,
      { metric: 'p50_us', label: 'p50 latency, one at a time', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    needs: 'sqs',
    // No target in the issue; @opentelemetry/instrumentation-aws-sdk is the comparison.
    targets: [],
  },
  {
    name: 'pubsub',
    title: 'Pub/Sub round trip on the fake (pstest): publishMessage + streaming pull, ack each, 256 B',
    script: 'pubsub',
    args: [],
    notes:
      'The fake delivers one message per stream response on a 10 ms tick: it bounds throughput and latency; ' +
      "compare the modes by client CPU per message. `pubsub-otel` is the client's own tracing " +
      '(`enableOpenTelemetryTracing`). Latency: one message at a time, no publish batching.',
    modes: ['raw', 'attributes-floor', 'pubsub-otel', 'hoptrace'],
    baseline: 'raw',
    pairs: [
      ['hoptrace', 'pubsub-otel'],
      ['hoptrace', 'attributes-floor'],
    ],
    metrics: [
      THROUGHPUT,
      CPU_PER_MESSAGE,
      { metric: 'p50_us', label: 'p50 latency, one at a time', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    needs: 'pubsub',
    // No target in the issue; the client's own tracing is the comparison.
    targets: [],
  },
  {
    name: 'heap-growth',
    title: 'Memory over 1M messages (publish -> deliver -> settle through the core, sampled, metrics on)',
    script: 'memory',
    args: [],
    nodeArgs: ['--expose-gc'],
    modes: ['core-round-trip'],
    baseline: 'core-round-trip',
    baselineRatios: false,
    metrics: [
      { metric: 'value', label: 'heap growth, 100k to 1M', unit: 'MB', higherIsBetter: false },
      { metric: 'heap_first_mb', label: 'heap after 100k', unit: 'MB', higherIsBetter: false },
      { metric: 'heap_max_mb', label: 'largest sample', unit: 'MB', higherIsBetter: false },
      { metric: 'cpu_us_per_msg', label: 'CPU per message', unit: 'us', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.3 },
    targets: [
      {
        kind: 'absolute',
        label: 'no heap growth over 1M messages (<= 2 MB from the 100k sample to the last)',
        metric: 'value',
        mode: 'core-round-trip',
        atMost: 2,
      },
    ],
  },
  {
    name: 'collector-ingest',
    title: 'Collector: OTLP protobuf ingest with linking, one core',
    script: 'collector',
    args: [],
    modes: ['ingest', 'http'],
    baseline: 'ingest',
    baselineRatios: false,
    metrics: [{ metric: 'value', label: 'spans linked', unit: 'spans/s', higherIsBetter: true }],
    scale: { full: 1, quick: 0.3 },
    targets: [
      {
        kind: 'absolute',
        label: 'decode + normalize + link >= 50 000 spans/s on one core',
        metric: 'value',
        mode: 'ingest',
        atLeast: 50_000,
      },
      {
        kind: 'absolute',
        label: 'the same through POST /v1/traces >= 50 000 spans/s',
        metric: 'value',
        mode: 'http',
        atLeast: 50_000,
      },
    ],
  },
  {
    name: 'collector-memory',
    title: 'Collector: heap per tracked message',
    script: 'collector',
    args: [],
    nodeArgs: ['--expose-gc'],
    modes: ['memory'],
    baseline: 'memory',
    metrics: [
      { metric: 'value', label: 'in-flight message (publish)', unit: 'B', higherIsBetter: false },
      {
        metric: 'with_delivery_bytes',
        label: 'with one linked delivery kept',
        unit: 'B',
        higherIsBetter: false,
      },
    ],
    scale: { full: 1, quick: 0.3 },
    targets: [
      {
        kind: 'absolute',
        label: '<= 1 KiB per tracked in-flight message',
        metric: 'value',
        mode: 'memory',
        atMost: 1024,
      },
    ],
  },
  {
    name: 'collector-overload',
    title: 'Collector: ten times the sustainable load',
    script: 'collector',
    args: [],
    nodeArgs: ['--expose-gc'],
    modes: ['overload'],
    baseline: 'overload',
    metrics: [
      { metric: 'sustained_spans_per_s', label: 'sustained', unit: 'spans/s', higherIsBetter: true },
      { metric: 'offered_factor', label: 'offered / sustained', unit: 'x', higherIsBetter: true },
      {
        metric: 'accepted_spans_per_s',
        label: 'accepted in overload',
        unit: 'spans/s',
        higherIsBetter: true,
      },
      { metric: 'rejected_share', label: 'answers 429/503', unit: 'share', higherIsBetter: true },
      { metric: 'live_heap_sustained_mb', label: 'live heap, sustained', unit: 'MB', higherIsBetter: false },
      { metric: 'live_heap_overload_mb', label: 'live heap, overload', unit: 'MB', higherIsBetter: false },
      { metric: 'sustained_rss_mb', label: 'peak RSS, sustained', unit: 'MB', higherIsBetter: false },
      { metric: 'value', label: 'peak RSS, overload', unit: 'MB', higherIsBetter: false },
      { metric: 'overload_p99_ms', label: 'p99 answer time, overload', unit: 'ms', higherIsBetter: false },
    ],
    scale: { full: 1, quick: 0.5 },
    targets: [
      {
        kind: 'absolute',
        label: 'live heap under overload stays bounded (<= 128 MB with 20 000 tracked messages)',
        metric: 'live_heap_overload_mb',
        mode: 'overload',
        atMost: 128,
      },
      {
        kind: 'absolute',
        label: 'excess answered 429/503, not queued: p99 answer <= 10 s (the OTLP exporter timeout)',
        metric: 'overload_p99_ms',
        mode: 'overload',
        atMost: 10_000,
      },
    ],
  },
];
