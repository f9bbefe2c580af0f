/**
 * `KafkajsInstrumentation`: hoptrace's kafkajs tracing as an OpenTelemetry instrumentation, for
 * `NodeSDK({ instrumentations })`, `registerInstrumentations` or `--import hoptrace/register`. It
 * replaces the `Kafka` class with one whose instances go through `instrumentKafka`, so clients made
 * by frameworks (NestJS microservices) are traced with no code change; `instanceof Kafka` holds.
 */

import {
  type InstrumentationModuleDefinition,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import type { Kafka } from 'kafkajs';
import { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../transport/index.js';
import { instrumentKafka } from './instrument.js';
import type { KafkaInstrumentationOptions } from './types.js';

const SUPPORTED = ['>=2.2.4 <3'];
const CONTRIB = '@opentelemetry/instrumentation-kafkajs';

export type KafkajsInstrumentationConfig = HoptraceInstrumentationConfig<KafkaInstrumentationOptions>;

export class KafkajsInstrumentation extends HoptraceInstrumentation<KafkaInstrumentationOptions> {
  constructor(config: KafkajsInstrumentationConfig = {}) {
    super('kafkajs', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'kafkajs',
        SUPPORTED,
        (exports) => {
          return this.patchClass(exports, 'Kafka', (client, original) =>
            this.contribActive(original.prototype.producer, CONTRIB)
              ? client
              : instrumentKafka(client as Kafka, this.wrapperOptions()),
          );
        },
        (exports) => this.unpatchExports(exports),
      ),
    ];
  }
}
