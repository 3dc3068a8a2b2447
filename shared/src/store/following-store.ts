import { isDrError } from '../errors';
import type { Logger } from '../logger';
import type { NewRecord } from '../record';
import type { EnvelopeRequest, ReadyEnvelope } from './drain';
import type { StoreLocation } from './location';
import { SqliteRecordStore } from './sqlite-record-store';
import type {
  AckResult,
  AppendResult,
  BatchRequest,
  DeadLetterInput,
  StoredRecord,
  StoreEvent,
  StoreMetrics,
  UnitAckResult,
} from './types';

/**
 * The store as a user that is not its owner sees it. It never creates or repairs the store: until the
 * owner (Buffer) has made it usable, every call fails with STORE_UNAVAILABLE (retryable). When the data
 * file is deleted or replaced under it (STORE_REPLACED), or the owner quarantines it and creates a fresh
 * one, the next call reopens the path, so nothing is written to a file that is no longer the store.
 */
export class FollowingStore {
  private store: SqliteRecordStore | undefined;

  constructor(
    private readonly location: StoreLocation,
    private readonly gatewayId: string,
    private readonly logger: Logger,
    /** What this handle's own transactions did that others must hear of (evictions in an append). */
    private readonly onEvent?: (event: StoreEvent) => void,
  ) {
    try {
      this.store = this.open();
    } catch (err) {
      if (!isDrError(err, 'STORE_UNAVAILABLE')) throw err;
      this.logger.warn({ path: location.path }, 'the store is not there yet: waiting for its owner');
    }
  }

  get settings(): StoreLocation['settings'] {
    return this.location.settings;
  }

  /** The open store's epoch, or undefined while it is unavailable. */
  get epoch(): string | undefined {
    return this.store?.epoch;
  }

  private open(): SqliteRecordStore {
    return SqliteRecordStore.open({
      path: this.location.path,
      gatewayId: this.gatewayId,
      settings: this.location.settings,
      onCorrupt: 'fail',
      integrityCheck: false,
      create: false,
      ...(this.onEvent === undefined ? {} : { onEvent: this.onEvent }),
    });
  }

  private current(): SqliteRecordStore {
    if (this.store === undefined) {
      this.store = this.open();
      this.logger.info({ path: this.location.path, epoch: this.store.epoch }, 'store open');
    }
    return this.store;
  }

  /** Runs `fn` on the open store; a store whose file went away is closed and the path reopened once. */
  private call<T>(fn: (store: SqliteRecordStore) => T): T {
    const store = this.current();
    try {
      return fn(store);
    } catch (err) {
      if (!isDrError(err, 'STORE_REPLACED')) throw err;
      this.logger.warn(
        { path: this.location.path, epoch: store.epoch },
        'the store file was deleted or replaced: reopening (leases and reads start afresh)',
      );
      store.close();
      this.store = undefined;
      return fn(this.current());
    }
  }

  append(records: readonly NewRecord[]): AppendResult {
    return this.call((s) => s.append(records));
  }

  deadLetter(entries: readonly DeadLetterInput[]): void {
    this.call((s) => s.deadLetter(entries));
  }

  /** Leases belong to the open file: after a replacement, reads start afresh in the new one. */
  nextBatch(request: BatchRequest): StoredRecord[] {
    return this.call((s) => s.nextBatch(request));
  }

  ack(ids: readonly string[]): AckResult {
    return this.call((s) => s.ack(ids));
  }

  release(ids: readonly string[]): void {
    this.call((s) => s.release(ids));
  }

  nextEnvelopes(request: EnvelopeRequest): ReadyEnvelope[] {
    return this.call((s) => s.nextEnvelopes(request));
  }

  ackEnvelopes(unitIds: readonly string[]): UnitAckResult {
    return this.call((s) => s.ackEnvelopes(unitIds));
  }

  releaseEnvelopes(unitIds: readonly string[]): void {
    this.call((s) => s.releaseEnvelopes(unitIds));
  }

  metrics(): StoreMetrics {
    return this.call((s) => s.metrics());
  }

  close(): void {
    this.store?.close();
    this.store = undefined;
  }
}
