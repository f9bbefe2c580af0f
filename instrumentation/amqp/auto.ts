/**
 * `AmqplibInstrumentation`: hoptrace's amqplib tracing as an OpenTelemetry instrumentation, for
 * `NodeSDK({ instrumentations })`, `registerInstrumentations` or `--import hoptrace/register`. It
 * patches `connect` of the promise and callback APIs; every connection they return goes through
 * `instrumentAmqp`, so libraries that connect for the application (amqp-connection-manager, NestJS,
 * rascal) are traced with no code change.
 */
import {
  type InstrumentationModuleDefinition,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
} from '@opentelemetry/instrumentation';
import { HoptraceInstrumentation, type HoptraceInstrumentationConfig } from '../transport/index.js';
import { instrumentAmqp } from './instrument.js';
import type { AmqpInstrumentationOptions } from './types.js';

/** The amqplib versions of the peer range. */
const SUPPORTED = ['>=0.10.0 <3'];
const CONTRIB = '@opentelemetry/instrumentation-amqplib';

type Connect = (...args: unknown[]) => unknown;
type ChannelModule = { Channel?: { prototype?: { publish?: unknown } } };

export type AmqplibInstrumentationConfig = HoptraceInstrumentationConfig<AmqpInstrumentationOptions>;

export class AmqplibInstrumentation extends HoptraceInstrumentation<AmqpInstrumentationOptions> {
  /** amqplib's own channel classes, to see whether contrib's instrumentation wrapped them. */
  private channelModules: ChannelModule[] | undefined;

  constructor(config: AmqplibInstrumentationConfig = {}) {
    super('amqplib', config);
  }

  protected override init(): InstrumentationModuleDefinition[] {
    const models = ['amqplib/lib/channel_model.js', 'amqplib/lib/callback_model.js'].map(
      (file) =>
        new InstrumentationNodeModuleFile(
          file,
          SUPPORTED,
          (exports: ChannelModule) => {
            this.channelModules ??= [];
            if (!this.channelModules.includes(exports)) this.channelModules.push(exports);
            return exports;
          },
          () => {},
        ),
    );
    return [
      new InstrumentationNodeModuleDefinition(
        'amqplib',
        SUPPORTED,
        (exports) => {
          return this.patchExport(exports, 'connect', (original: Connect) =>
            this.tracedPromiseConnect(original),
          );
        },
        (exports) => this.unpatchExports(exports),
        models,
      ),
      new InstrumentationNodeModuleDefinition(
        'amqplib/callback_api',
        SUPPORTED,
        (exports) => {
          return this.patchExport(exports, 'connect', (original: Connect) =>
            this.tracedCallbackConnect(original),
          );
        },
        (exports) => this.unpatchExports(exports),
      ),
    ];
  }

  private instrument<T>(connection: T): T {
    if (!this.isEnabled() || this.contribWrapped()) return connection;
    return instrumentAmqp(connection, this.wrapperOptions());
  }

  private contribWrapped(): boolean {
    return (this.channelModules ?? []).some((module) =>
      this.contribActive(module.Channel?.prototype?.publish, CONTRIB),
    );
  }

  private tracedPromiseConnect(original: Connect): Connect {
    const self = this;
    return function connect(this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (!result || typeof (result as PromiseLike<unknown>).then !== 'function') return result;
      return (result as Promise<unknown>).then((connection) => self.instrument(connection));
    };
  }

  private tracedCallbackConnect(original: Connect): Connect {
    const self = this;
    return function connect(this: unknown, ...args: unknown[]) {
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (err: unknown, connection: unknown) =>
          (callback as Connect)(err, err ? connection : self.instrument(connection));
      }
      return original.apply(this, args);
    };
  }
}
