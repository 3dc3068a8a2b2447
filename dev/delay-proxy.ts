import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that forwards to a target and can hold every chunk back by a delay, in both
 * directions and in order: latency for a link, since this kernel has no `netem`. With no delay it only
 * forwards. The bytes are passed through untouched (TLS runs end to end).
 */
export class DelayProxy {
  delayMs = 0;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<DelayProxy> {
    const proxy = new DelayProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = proxy.server.address();
    proxy.port = typeof address === 'object' && address !== null ? address.port : 0;
    return proxy;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: Socket, to: Socket): void {
    // Chunks leave in order: each goes once its own delay has passed and the one before it has gone.
    let last = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const due = Date.now() + this.delayMs;
      last = last.then(
        () =>
          new Promise<void>((resolve) => {
            const send = (): void => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            };
            const wait = due - Date.now();
            if (wait <= 0) send();
            else setTimeout(send, wait);
          }),
      );
    });
    from.on('close', () => void last.then(() => to.destroy()));
    from.on('error', () => to.destroy());
  }

  /** Drops every connection through the proxy (as a link that resets), keeping the listener. */
  resetConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.resetConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
