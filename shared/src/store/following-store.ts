import type { Logger } from '../logger';
import type { NewRecord } from '../record';
import type { StoreLocation } from './location';
import { SqliteRecordStore } from './sqlite-record-store';
import type {
  AckResult,
  AppendResult,
  BatchRequest,
  DeadLetterInput,
  StoredRecord,
  StoreMetrics,
} from './types';

/**
 * The store as a user that is not its owner sees it: when the owner (Buffer) quarantines a damaged
 * file and creates a fresh one at the same path, the next write goes to the new file, not the old one.
 */
export class FollowingStore {
  private store: SqliteRecordStore;

  constructor(
    private readonly location: StoreLocation,
    private readonly gatewayId: string,
    private readonly logger: Logger,
  ) {
    this.store = this.open();
  }

  get settings(): StoreLocation['settings'] {
    return this.location.settings;
  }

  private open(): SqliteRecordStore {
    return SqliteRecordStore.open({
      path: this.location.path,
      gatewayId: this.gatewayId,
      settings: this.location.settings,
      onCorrupt: 'fail',
      integrityCheck: false,
    });
  }

  private current(): SqliteRecordStore {
    if (this.store.fileReplaced()) {
      this.logger.warn({ path: this.location.path }, 'the store file was replaced by its owner: reopening');
      this.store.close();
      this.store = this.open();
    }
    return this.store;
  }

  append(records: readonly NewRecord[]): AppendResult {
    return this.current().append(records);
  }

  deadLetter(entries: readonly DeadLetterInput[]): void {
    this.current().deadLetter(entries);
  }

  /** Leases belong to the open file: after a replacement, reads start afresh in the new one. */
  nextBatch(request: BatchRequest): StoredRecord[] {
    return this.current().nextBatch(request);
  }

  ack(ids: readonly string[]): AckResult {
    return this.current().ack(ids);
  }

  release(ids: readonly string[]): void {
    this.current().release(ids);
  }

  metrics(): StoreMetrics {
    return this.current().metrics();
  }

  close(): void {
    this.store.close();
  }
}
