import type { EnvelopeHeader } from '../../shared/src/envelope';
import type { DrRecord } from '../../shared/src/record';

/** Where a batch came from: the thing in its topic, the region that received it, when. */
export interface BatchSource {
  readonly thing: string;
  readonly region: string;
  readonly receivedAtMs: number;
}

/** Where decoded records go (a bucket, a table, a stream). Writes may repeat: a retry resends them. */
export interface RecordSink {
  write(
    records: readonly DrRecord[],
    batch: { readonly source: BatchSource; readonly header: EnvelopeHeader },
  ): Promise<void>;
}

/** Where payloads that cannot be decoded go, with the reason: nothing received is dropped silently. */
export interface DeadLetterSink {
  write(payload: Uint8Array, reason: string, source: BatchSource): Promise<void>;
}

/**
 * A record id's claim. `claimed`: this consumer owns the id now and must store it; `done`: stored before
 * (a duplicate); `busy`: another consumer claimed it moments ago and has not finished.
 */
export type ClaimResult = 'claimed' | 'done' | 'busy';

/**
 * De-duplication by record id, as a conditional write keyed on the id (DynamoDB: PutItem with
 * `attribute_not_exists(id)`): a claim succeeds only for an id never seen, or one whose earlier claim
 * was never completed within `leaseMs` (its consumer died between claiming and storing).
 */
export interface IdempotencyStore {
  claim(ids: readonly string[], nowMs: number, leaseMs: number): Promise<ReadonlyMap<string, ClaimResult>>;
  /** The claimed ids are in the sink now. */
  complete(ids: readonly string[], nowMs: number): Promise<void>;
  /** The sink failed: give the claims back so that a retry can claim them at once. */
  release(ids: readonly string[]): Promise<void>;
}
