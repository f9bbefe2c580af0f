/** `hoptrace/amqp`: traces amqplib (RabbitMQ) connections and channels. */
export { AmqplibInstrumentation, type AmqplibInstrumentationConfig } from './auto.js';
export { ConfirmFailedError, MessageReturnedError } from './errors.js';
export { instrumentAmqp } from './instrument.js';
export type {
  AmqpInstrumentationOptions,
  AmqpMessage,
  AmqpPublishMessage,
  AmqpPublishOptions,
  ConsumeInfo,
  PublishInfo,
  SettleInfo,
} from './types.js';
export type { XDeathEntry } from './utils.js';
export { parseXDeath } from './utils.js';
