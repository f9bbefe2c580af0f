/**
 * `PubSubInstrumentation`: hoptrace's Pub/Sub tracing as an OpenTelemetry instrumentation, for
 * `NodeSDK({ instrumentations })`, `registerInstrumentations` or `--import hoptrace/register`. It
 * replaces the `PubSub` class with a stand-in whose instances go through `instrumentPubSub`.
 */
import {
  type InstrumentationModuleDefinition,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../transport/index.js';
import { instrumentPubSub } from './instrument.js';
import type { PubSubInstrumentationOptions } from './types.js';

const SUPPORTED = ['>=5.0.0 <6'];

export type PubSubInstrumentationConfig = HoptraceInstrumentationConfig<PubSubInstrumentationOptions>;

export class PubSubInstrumentation extends HoptraceInstrumentation<PubSubInstrumentationOptions> {
  constructor(config: PubSubInstrumentationConfig = {}) {
    super('pubsub', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@google-cloud/pubsub',
        SUPPORTED,
        (exports) => {
          return this.patchClass(exports, 'PubSub', (client) =>
            instrumentPubSub(client as Parameters<typeof instrumentPubSub>[0], this.wrapperOptions()),
          );
        },
        (exports) => this.unpatchExports(exports),
      ),
    ];
  }
}
