/**
 * `hoptrace/bullmq`: BullMQ jobs traced, correlated and measured like messages, through BullMQ's own
 * `telemetry` option. Loads no peer at run time (BullMQ's types are matched structurally).
 *
 *   const telemetry = new BullMQTelemetry({ serviceName: 'mailer' });
 *   new Queue('emails', { connection, telemetry });
 *   new Worker('emails', telemetry.processor(sendEmail), { connection, telemetry });
 */
export { BullMQInstrumentation, type BullMQInstrumentationConfig } from './auto.js';
export { HEADER_FLOW_NODE, MAX_METADATA_LENGTH } from './metadata.js';
export { BullMQTelemetry } from './telemetry.js';
export type {
  BullMQAttributes,
  BullMQAttributeValue,
  BullMQConsumeMessage,
  BullMQContextManager,
  BullMQFlowNode,
  BullMQJobLike,
  BullMQPublishMessage,
  BullMQSpan,
  BullMQTelemetryOptions,
  BullMQTracer,
} from './types.js';
