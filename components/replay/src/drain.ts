import { logStoreRetry } from './store-retry-log';
import type { Envelope } from '../../../shared/src/envelope';
import type { Logger } from '../../../shared/src/logger';
import type { EnvelopeRequest, ReadyEnvelope } from '../../../shared/src/store/drain';
import type { ReplayConfig } from './config';
import type { BatchInfo } from './core/flights';
import type { FleetState } from './core/fleet-state';
import { readBudget } from './core/sending';
import type { DrainStore } from './ports';

export interface DrainDeps {
  readonly store: DrainStore;
  readonly logger: Logger;
  nowMs(): number;
  state(): FleetState;
  config(): ReplayConfig;
  /** Hands packed envelopes to the fleet, which sends them; `backlog` when more is waiting. */
  submit(envelopes: readonly Envelope[], batches: readonly BatchInfo[], backlog: boolean): void;
}

/**
 * The one store reader: asks the store for an envelope per free in-flight slot over every link of the
 * active region (compacted blocks come as they were stored, without re-encoding; rows are packed under
 * the size limit) and hands them to the core. One reader for all links, so no record is ever leased
 * twice; reads follow the store's priority order.
 */
export class Drain {
  private wakeUp: (() => void) | null = null;
  private lastReadErrorLogMs = -Infinity;

  constructor(private readonly deps: DrainDeps) {}

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private read(request: EnvelopeRequest): ReadyEnvelope[] | undefined {
    try {
      return this.deps.store.nextEnvelopes(request);
    } catch (err) {
      const nowMs = this.deps.nowMs();
      if (nowMs - this.lastReadErrorLogMs > 5_000) {
        this.lastReadErrorLogMs = nowMs;
        logStoreRetry(this.deps.logger, err, 'store read');
      }
      return undefined;
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const b = this.deps.config().batching;
      const budget = readBudget(this.deps.state(), this.deps.nowMs());
      if (budget === null) {
        await this.wait(b.pollIntervalMs);
        continue;
      }
      const ready = this.read({
        maxEnvelopes: budget.maxEnvelopes,
        maxEnvelopeBytes: b.maxEnvelopeBytes,
        maxRecords: budget.maxRecords,
        version: b.envelopeVersion,
      });
      if (ready === undefined || ready.length === 0) {
        if (ready !== undefined) this.deps.submit([], [], false); // nothing waits: no backlog either
        await this.wait(ready === undefined ? 1_000 : b.pollIntervalMs);
        continue;
      }
      const batches: BatchInfo[] = ready.map((r) => ({
        batchId: r.envelope.header.batchId,
        unitId: r.unitId,
        records: r.count,
        plainBytes: r.plainBytes,
        payloadBytes: r.envelope.payload.length,
      }));
      const liveFromMs = this.deps.nowMs() - this.deps.store.settings.liveWindowMs;
      const backlog =
        ready.length >= budget.maxEnvelopes ||
        ready.some((r) => r.source === 'block' || (r.records ?? []).some((x) => x.tsMs < liveFromMs));
      this.deps.submit(
        ready.map((r) => r.envelope),
        batches,
        backlog,
      );
      // Let PUBACKs and events run between reads.
      await new Promise((r) => setImmediate(r));
    }
  }
}
