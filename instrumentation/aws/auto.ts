/**
 * `SqsInstrumentation` and `SnsInstrumentation`: hoptrace's SQS and SNS tracing as OpenTelemetry
 * instrumentations, for `NodeSDK({ instrumentations })`, `registerInstrumentations` or
 * `--import hoptrace/register`. They replace the AWS SDK v3 client classes (`SQSClient` and the
 * aggregated `SQS`; `SNSClient` and `SNS`) with stand-ins whose instances go through `instrumentSqs` /
 * `instrumentSns`, so clients made by libraries (sqs-consumer) are traced with no code change; and
 * sqs-consumer's `handleMessage` runs in the message's context, so what the handler logs, publishes or
 * calls carries the flow's trace and correlation ID.
 */
import {
  type InstrumentationModuleDefinition,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../transport/index.js';
import { withSqsMessageContext } from './process.js';
import { instrumentSns } from './sns.js';
import { instrumentSqs } from './sqs.js';
import type { SnsInstrumentationOptions, SqsInstrumentationOptions } from './types.js';

const SUPPORTED = ['>=3.0.0 <4'];
const SQS_CONSUMER_SUPPORTED = ['>=10.0.0 <16'];

type ConsumerOptions = { handleMessage?: (message: object) => unknown; [option: string]: unknown };
type ConsumerClass = { create?: (options: ConsumerOptions) => unknown };

/** sqs-consumer options whose `handleMessage` runs in the message's context (a copy; the caller's untouched). */
function inMessageContext(options: unknown): unknown {
  if (options === null || typeof options !== 'object') return options;
  const handle = (options as ConsumerOptions).handleMessage;
  if (typeof handle !== 'function') return options;
  return {
    ...(options as ConsumerOptions),
    handleMessage: (message: object) => withSqsMessageContext(message, () => handle(message)),
  };
}

export type SqsInstrumentationConfig = HoptraceInstrumentationConfig<SqsInstrumentationOptions>;
export type SnsInstrumentationConfig = HoptraceInstrumentationConfig<SnsInstrumentationOptions>;

export class SqsInstrumentation extends HoptraceInstrumentation<SqsInstrumentationOptions> {
  constructor(config: SqsInstrumentationConfig = {}) {
    super('aws-sqs', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@aws-sdk/client-sqs',
        SUPPORTED,
        (exports) => {
          let patched = exports;
          for (const name of ['SQSClient', 'SQS']) {
            patched = this.patchClass(patched, name, (client) =>
              instrumentSqs(client, this.wrapperOptions()),
            );
          }
          return patched;
        },
        (exports) => this.unpatchExports(exports),
      ),
      new InstrumentationNodeModuleDefinition(
        'sqs-consumer',
        SQS_CONSUMER_SUPPORTED,
        (exports) => {
          const patched = this.patchClass(
            exports,
            'Consumer',
            (consumer) => consumer,
            (args) => [inMessageContext(args[0]), ...args.slice(1)],
          );
          // `Consumer.create` constructs through the module's own binding, not the export.
          const consumerClass = (patched as { Consumer?: ConsumerClass }).Consumer;
          if (consumerClass) {
            this.patchExport(
              consumerClass,
              'create',
              (create: NonNullable<ConsumerClass['create']>) =>
                function (this: unknown, options: ConsumerOptions) {
                  return create.call(this, inMessageContext(options) as ConsumerOptions);
                },
            );
          }
          return patched;
        },
        (exports) => {
          const consumerClass = (exports as { Consumer?: ConsumerClass }).Consumer;
          if (consumerClass) this.unpatchExports(consumerClass);
          this.unpatchExports(exports);
        },
      ),
    ];
  }
}

export class SnsInstrumentation extends HoptraceInstrumentation<SnsInstrumentationOptions> {
  constructor(config: SnsInstrumentationConfig = {}) {
    super('aws-sns', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@aws-sdk/client-sns',
        SUPPORTED,
        (exports) => {
          let patched = exports;
          for (const name of ['SNSClient', 'SNS']) {
            patched = this.patchClass(patched, name, (client) =>
              instrumentSns(client, this.wrapperOptions()),
            );
          }
          return patched;
        },
        (exports) => this.unpatchExports(exports),
      ),
    ];
  }
}
