/**
 * A client that connects on first use (a dead-letter producer, an admin client, a cluster connection):
 * concurrent callers share one connect; a failed connect is forgotten, so the next call starts over
 * with a new client.
 */
export class LazyClient<C> {
  private client: C | undefined;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly create: () => C,
    private readonly connect: (client: C) => Promise<void>,
    private readonly disconnect: (client: C) => Promise<void>,
  ) {}

  /** The connected client; rejects with the connect error (and forgets that client). */
  async get(): Promise<C> {
    if (this.client === undefined) {
      const client = this.create();
      this.client = client;
      this.connecting = this.connect(client);
    }
    const client = this.client;
    try {
      await this.connecting;
    } catch (err) {
      if (this.client === client) {
        this.client = undefined;
        this.connecting = undefined;
      }
      throw err;
    }
    return client;
  }

  /** Disconnects the client, if one was made; the next `get` makes a new one. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    if (client !== undefined) await this.disconnect(client);
  }
}
