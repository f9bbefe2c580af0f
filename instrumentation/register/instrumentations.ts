/** The OpenTelemetry instrumentation of each client `hoptrace/register` knows, built from its settings. */
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AmqplibInstrumentation } from '../amqp/auto.js';
import { SnsInstrumentation, SqsInstrumentation } from '../aws/auto.js';
import { BullMQInstrumentation } from '../bullmq/auto.js';
import type { InstrumentationOptions } from '../core/types.js';
import { KafkajsInstrumentation } from '../kafka/auto.js';
import { PubSubInstrumentation } from '../pubsub/auto.js';
import type { ClientName, RegisterSettings } from './settings.js';

/** The options every transport shares and the environment can set. */
type CommonOptions = Pick<
  InstrumentationOptions,
  'serviceName' | 'linkMode' | 'correlationHeader' | 'captureHeaders'
>;

const FACTORIES: Record<ClientName, (options: CommonOptions) => Instrumentation> = {
  amqplib: (options) => new AmqplibInstrumentation(options),
  kafkajs: (options) => new KafkajsInstrumentation(options),
  bullmq: (options) => new BullMQInstrumentation(options),
  'aws-sqs': (options) => new SqsInstrumentation(options),
  'aws-sns': (options) => new SnsInstrumentation(options),
  pubsub: (options) => new PubSubInstrumentation(options),
};

/** The modules whose `import` the loader hook must see (ESM applications). */
export const CLIENT_MODULES: Record<ClientName, string[]> = {
  amqplib: ['amqplib', 'amqplib/callback_api'],
  kafkajs: ['kafkajs'],
  bullmq: ['bullmq'],
  'aws-sqs': ['@aws-sdk/client-sqs', 'sqs-consumer'],
  'aws-sns': ['@aws-sdk/client-sns'],
  pubsub: ['@google-cloud/pubsub'],
};

export function createInstrumentations(settings: RegisterSettings): Instrumentation[] {
  const options: CommonOptions = {};
  if (settings.serviceName !== undefined) options.serviceName = settings.serviceName;
  if (settings.linkMode !== undefined) options.linkMode = settings.linkMode;
  if (settings.correlationHeader !== undefined) options.correlationHeader = settings.correlationHeader;
  if (settings.captureHeaders !== undefined) options.captureHeaders = settings.captureHeaders;
  return settings.clients.map((client) => FACTORIES[client]({ ...options }));
}
