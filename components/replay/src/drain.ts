import { toDrError } from '../../../shared/src/errors';
import { packEnvelopes, type Envelope } from '../../../shared/src/envelope';
import type { Logger } from '../../../shared/src/logger';
import type { StoredRecord } from '../../../shared/src/store/types';
import type { ReplayConfig } from './config';
import type { BatchInfo } from './core/flights';
import type { FleetState } from './core/fleet-state';
import { readBudget } from './core/sending';
import type { DrainStore } from './ports';

export interface DrainDeps {
  readonly store: DrainStore;
  readonly thingName: string;
  readonly logger: Logger;
  nowMs(): number;
  state(): FleetState;
  config(): ReplayConfig;
  /** Hands packed envelopes to the fleet, which sends them; `backlog` when more is waiting. */
  submit(envelopes: readonly Envelope[], batches: readonly BatchInfo[], backlog: boolean): void;
  release(ids: readonly string[]): void;
}

/**
 * The one store reader: reads as much as the core's budget says (free in-flight slots over every link
 * of the active region), packs it into envelopes under the size limit and hands them to the core. One
 * reader for all links, so no record is ever leased twice; reads follow the store's priority order.
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

  private read(maxRecords: number, maxBytes: number): StoredRecord[] | undefined {
    try {
      return this.deps.store.nextBatch({ maxRecords, maxBytes });
    } catch (err) {
      const nowMs = this.deps.nowMs();
      if (nowMs - this.lastReadErrorLogMs > 5_000) {
        this.lastReadErrorLogMs = nowMs;
        this.deps.logger.error({ err: toDrError(err) }, 'store read failed; retrying');
      }
      return undefined;
    }
  }

  /**
   * Envelopes for a read. Records go to the packer in runs of about one envelope at the compression
   * seen so far, so most envelopes cost one compression pass plus a small probe, not a search; the
   * last two envelopes' worth goes in one run, so the read does not end with a sliver of an envelope.
   */
  private pack(records: readonly StoredRecord[], maxEnvelopeBytes: number): Envelope[] {
    const perEnvelope = maxEnvelopeBytes * this.deps.state().plainPerPayload * 0.9;
    let left = records.reduce((sum, r) => sum + r.sizeBytes, 0);
    const out: Envelope[] = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < records.length && left >= 2 * perEnvelope; i++) {
      bytes += records[i]?.sizeBytes ?? 0;
      if (bytes < perEnvelope) continue;
      out.push(...packEnvelopes(this.deps.thingName, records.slice(from, i + 1), maxEnvelopeBytes));
      from = i + 1;
      left -= bytes;
      bytes = 0;
    }
    if (from < records.length)
      out.push(...packEnvelopes(this.deps.thingName, records.slice(from), maxEnvelopeBytes));
    return out;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const b = this.deps.config().batching;
      const budget = readBudget(this.deps.state(), this.deps.nowMs());
      if (budget === null) {
        await this.wait(b.pollIntervalMs);
        continue;
      }
      const records = this.read(budget.maxRecords, budget.maxBytes);
      if (records === undefined || records.length === 0) {
        if (records !== undefined) this.deps.submit([], [], false); // nothing waits: no backlog either
        await this.wait(records === undefined ? 1_000 : b.pollIntervalMs);
        continue;
      }
      let envelopes: Envelope[];
      try {
        envelopes = this.pack(records, b.maxEnvelopeBytes);
      } catch (err) {
        // Cannot happen with checked settings (a record always fits); never spin on it.
        this.deps.release(records.map((r) => r.id));
        this.deps.logger.error({ err: toDrError(err) }, 'could not pack records into envelopes');
        await this.wait(5_000);
        continue;
      }
      const batches: BatchInfo[] = [];
      let at = 0;
      for (const envelope of envelopes) {
        const slice = records.slice(at, at + envelope.header.count);
        at += envelope.header.count;
        batches.push({
          batchId: envelope.header.batchId,
          ids: slice.map((r) => r.id),
          plainBytes: slice.reduce((sum, r) => sum + r.sizeBytes, 0),
          payloadBytes: envelope.payload.length,
        });
      }
      const liveFromMs = this.deps.nowMs() - this.deps.store.settings.liveWindowMs;
      const readBytes = records.reduce((sum, r) => sum + r.sizeBytes, 0);
      const backlog =
        records.length >= budget.maxRecords ||
        readBytes >= 0.9 * budget.maxBytes ||
        records.some((r) => r.tsMs < liveFromMs);
      this.deps.submit(envelopes, batches, backlog);
      // Let PUBACKs and events run between reads.
      await new Promise((r) => setImmediate(r));
    }
  }
}
