import type { Logger } from '../../../shared/src/logger';
import type { NewRecord } from '../../../shared/src/record';
import { SqliteRecordStore, type AppendResult, type DeadLetterInput } from '../../../shared/src/store';
import type { StoreLocation } from '../../../shared/src/store/location';

/**
 * The store as a writer that is not its owner sees it: when the owner (Buffer) quarantines a damaged
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

  close(): void {
    this.store.close();
  }
}
