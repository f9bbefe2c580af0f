/**
 * A small broker client hoptrace does not know: subjects, string headers, asynchronous delivery, one
 * redelivery of a message whose handler failed. It stands for NATS, Azure Service Bus or an in-house bus
 * in docs/transport.md, which instruments it with `hoptrace/transport` (see instrument-toy.ts).
 */

export interface ToyMessage {
  readonly id: number;
  readonly subject: string;
  readonly data: string;
  /** Header values travel as strings, as on most wires. */
  readonly headers: Readonly<Record<string, string>>;
  /** True on the second (last) delivery of a message whose handler failed. */
  readonly redelivered: boolean;
}

export type ToyHandler = (message: ToyMessage) => unknown;

export interface ToyPublishOptions {
  headers?: Record<string, string>;
}

export class ToyClient {
  private readonly subscribers = new Map<string, ToyHandler[]>();
  private nextId = 1;
  private pending = 0;
  private readonly idle: Array<() => void> = [];

  async publish(subject: string, data: string, options: ToyPublishOptions = {}): Promise<void> {
    if (subject.length === 0) throw new TypeError('subject must not be empty');
    const message: ToyMessage = {
      id: this.nextId++,
      subject,
      data,
      headers: { ...options.headers },
      redelivered: false,
    };
    for (const handler of this.subscribers.get(subject) ?? []) this.deliver(handler, message);
  }

  subscribe(subject: string, handler: ToyHandler): () => void {
    const handlers = this.subscribers.get(subject) ?? [];
    handlers.push(handler);
    this.subscribers.set(subject, handlers);
    return () => handlers.splice(handlers.indexOf(handler), 1);
  }

  /** Resolves when every delivery (and redelivery) so far has finished. */
  drain(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  private deliver(handler: ToyHandler, message: ToyMessage): void {
    this.pending++;
    setImmediate(async () => {
      try {
        await handler(message);
      } catch {
        if (!message.redelivered) this.deliver(handler, { ...message, redelivered: true });
      } finally {
        if (--this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
      }
    });
  }
}
