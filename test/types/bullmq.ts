/**
 * Type test (compiled by `npm run build`, never run): `BullMQTelemetry` fits BullMQ's own `Telemetry`
 * type on both majors, and `processor()` / `flow()` keep the types of what they wrap.
 */
import { FlowProducer, type Job, type Processor, Queue, type Telemetry, Worker } from 'bullmq';
import type * as BullMQ5 from 'bullmq-5';
import { BullMQTelemetry, type BullMQTelemetryOptions } from '../../instrumentation/bullmq/index.js';

const options: BullMQTelemetryOptions = {
  serviceName: 'mailer',
  hooks: {
    publishHook: (span, info) => span.setAttribute('job', info.message.jobName ?? ''),
    consumeHook: (_span, info) => info.attempt,
  },
};
const telemetry = new BullMQTelemetry(options);
export const asV6: Telemetry = telemetry;
export const asV5: BullMQ5.Telemetry = telemetry;

const connection = { host: '127.0.0.1', port: 6379 };
export const queue = new Queue('emails', { connection, telemetry });
const send: Processor<{ to: string }, string> = async (job: Job<{ to: string }>) => job.data.to;
const wrapped: Processor<{ to: string }, string> = telemetry.processor(send);
export const worker = new Worker<{ to: string }, string>('emails', wrapped, { connection, telemetry });
const tree = { name: 'p', queueName: 'q', data: { order: 1 }, children: [{ name: 'c', queueName: 'r' }] };
export const added = new FlowProducer({ connection, telemetry }).add(telemetry.flow(tree));
