/**
 * A client that connects on first use (a dead-letter producer, an admin client, a cluster connection):
 * concurrent callers share one connect; a failed connect is forgotten, so the next call starts over
 * with a new client.
 */
export class LazyClient<C> {
  private connected: Promise<C> | undefined;
  /** The client made by the current attempt, connected or not: what `close` disconnects. */
  private client: C | undefined;

  constructor(
    private readonly create: () => C | Promise<C>,
    private readonly connect: (client: C) => Promise<void>,
    private readonly disconnect: (client: C) => Promise<void>,
  ) {}

  /** The connected client; rejects with the connect error (and forgets that client). */
  get(): Promise<C> {
    if (!this.connected) {
      const attempt = this.open();
      this.connected = attempt;
      attempt.catch(() => {
        if (this.connected !== attempt) return;
        this.connected = undefined;
        this.client = undefined;
      });
    }
    return this.connected;
  }

  /** Disconnects the client, if one was made; the next `get` makes a new one. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    if (client !== undefined) await this.disconnect(client);
  }

  private async open(): Promise<C> {
    const client = await this.create();
    this.client = client;
    await this.connect(client);
    return client;
  }
}
