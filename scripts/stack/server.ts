/** What each server module provides to the stack controller. */
import type { ServerName, StackConfig } from './config.js';
import type { SpawnedProcess } from './process.js';

export interface StackServer {
  readonly name: ServerName;
  /** Loopback ports it listens on; checked for foreign listeners before a start. */
  ports(config: StackConfig): number[];
  /** One line for `status`: where clients reach it. */
  describe(config: StackConfig): string;
  /** Why it will not run here (e.g. Jaeger not built and not asked to build); undefined when it can. */
  unavailable?(config: StackConfig): string | undefined;
  /** Installs what is missing. Runs one server at a time (apt-get holds a lock). */
  install(config: StackConfig): Promise<void>;
  /** Writes its configs and spawns it; returns without waiting for readiness. */
  start(config: StackConfig): Promise<SpawnedProcess>;
  /** One readiness check with a real client; throws when not ready. */
  probe(config: StackConfig): Promise<void>;
  /**
   * Loads the probe's client library. Called (one server after another) before probes run side by
   * side: loading @google-cloud/pubsub or the AWS SDK blocks the event loop long enough, on a loaded
   * machine, for another probe's 2 s timeout to fire first.
   */
  loadClient?(): Promise<unknown>;
  readonly readyTimeoutMs: number;
  /** True while the process in its PID file runs. */
  running(config: StackConfig): boolean;
  /** Stops it by its PID file; false when it was not running. */
  stop(config: StackConfig): Promise<boolean>;
}
