import type { FleetInput } from './core/effects';
import type { LinkKey } from './core/flights';
import type { LinkFactory, LinkSpec, RegionLink } from './ports';

/**
 * The links the fleet core asked for, as running clients. A start waits until an earlier client with
 * the same key has stopped (the same client id twice would kick one off, and a late "offline" from the
 * old one would overwrite the new one's retained "online"). Events reach the core tagged with the
 * generation the core gave the start, so events of an older client are recognised.
 */
export class LinkPool {
  private readonly links = new Map<LinkKey, RegionLink>();
  private readonly starting = new Map<LinkKey, number>();
  private readonly stopping = new Map<LinkKey, Promise<void>>();
  private closed = false;

  constructor(
    private readonly factory: LinkFactory,
    private readonly specOf: (key: LinkKey) => LinkSpec | undefined,
    private readonly report: (input: FleetInput) => void,
    private readonly onMessage: (
      key: LinkKey,
      topic: string,
      payload: Uint8Array,
      correlation: Uint8Array | undefined,
    ) => void,
  ) {}

  get(key: LinkKey): RegionLink | undefined {
    return this.links.get(key);
  }

  start(key: LinkKey, generation: number): void {
    this.starting.set(key, generation);
    const before = this.stopping.get(key) ?? Promise.resolve();
    void before.then(() => {
      if (this.closed || this.starting.get(key) !== generation) return;
      this.starting.delete(key);
      const spec = this.specOf(key);
      if (spec === undefined) return;
      const link = this.factory(spec, {
        connected: () => this.report({ type: 'link-connected', link: key, generation }),
        disconnected: (reason) => this.report({ type: 'link-disconnected', link: key, generation, reason }),
        connectFailed: (diagnosis) => this.report({ type: 'link-failed', link: key, generation, diagnosis }),
        message: (topic, payload, correlation) => this.onMessage(key, topic, payload, correlation),
      });
      this.links.set(key, link);
      link.start();
    });
  }

  stop(key: LinkKey): void {
    this.starting.delete(key);
    const link = this.links.get(key);
    if (link === undefined) return;
    this.links.delete(key);
    const before = this.stopping.get(key) ?? Promise.resolve();
    const done = before.then(() => link.stop()).catch(() => undefined);
    this.stopping.set(key, done);
    void done.finally(() => {
      if (this.stopping.get(key) === done) this.stopping.delete(key);
    });
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    for (const key of [...this.links.keys()]) this.stop(key);
    await Promise.all([...this.stopping.values()]);
  }
}
