import type { Clock } from '../clock';
import { DrError, toDrError } from '../errors';
import type { NewRecord } from '../record';
import type { AppendResult, RecordStore } from './types';

export interface GroupCommitOptions {
  /** Commit at least this often while records wait. */
  readonly flushIntervalMs: number;
  /** Commit as soon as this many records wait. */
  readonly maxBatchRecords: number;
  /** Retries of a retryable store fault (busy, disk full) before the waiting appends fail. */
  readonly maxRetries: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly clock: Clock;
  /** Which faults are retried; default: those marked retryable. */
  readonly shouldRetry?: (err: DrError) => boolean;
  /** Told of each retried fault (busy, full, unavailable), before the backoff. */
  readonly onRetry?: (err: DrError, attempt: number) => void;
  readonly onCommit?: (info: {
    /** The committed records, in the order of `result.ids`. */
    readonly records: readonly NewRecord[];
    readonly commitMs: number;
    readonly result: AppendResult;
  }) => void;
}

interface Pending {
  readonly records: readonly NewRecord[];
  readonly resolve: (ids: readonly string[]) => void;
  readonly reject: (err: DrError) => void;
}

/**
 * Gathers appends from many callers into one transaction per flush. A caller's promise resolves with
 * its ids only after the commit that holds its records, so "resolved" means "durable". What waits in
 * memory between flushes (at most flushIntervalMs or maxBatchRecords) is the only loss window on a crash.
 */
export class GroupCommitWriter {
  private queue: Pending[] = [];
  private queuedRecords = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<RecordStore, 'append'>,
    private readonly options: GroupCommitOptions,
  ) {}

  get waitingRecords(): number {
    return this.queuedRecords;
  }

  append(records: readonly NewRecord[]): Promise<readonly string[]> {
    if (this.closed) return Promise.reject(new DrError('STORE_CLOSED', 'the writer is closed'));
    if (records.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.queuedRecords += records.length;
      if (this.queuedRecords >= this.options.maxBatchRecords) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.options.flushIntervalMs);
    });
  }

  private kick(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.timer ??= setTimeout(() => this.kick(), this.options.flushIntervalMs);
    });
  }

  /** Commits what waits now instead of at the next flush interval (e.g. a source's window is full). */
  flushSoon(): void {
    if (this.queue.length > 0) this.kick();
  }

  /** Commits everything waiting now; resolves when it is durable (or has failed). */
  async flush(): Promise<void> {
    this.kick();
    await this.flushing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.queue.length);
      const count = batch.reduce((n, p) => n + p.records.length, 0);
      // Still waiting while it is retried: counted until its commit is done.
      await this.commit(batch);
      this.queuedRecords -= count;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    const all = batch.length === 1 ? (batch[0] as Pending).records : batch.flatMap((p) => p.records);
    for (let attempt = 0; ; attempt++) {
      const started = this.options.clock.monotonicMs();
      try {
        const result = this.store.append(all);
        this.options.onCommit?.({
          records: all,
          commitMs: this.options.clock.monotonicMs() - started,
          result,
        });
        let offset = 0;
        for (const p of batch) {
          p.resolve(result.ids.slice(offset, offset + p.records.length));
          offset += p.records.length;
        }
        return;
      } catch (raw) {
        const err = toDrError(raw);
        if (err.code === 'RECORD_INVALID' || err.code === 'RECORD_TOO_LARGE') {
          // One caller's bad record must not fail the others: commit each caller's records on its own.
          if (batch.length > 1) {
            for (const p of batch) await this.commit([p]);
            return;
          }
        }
        if (err.code === 'STORE_FULL' && batch.length > 1) {
          // The disk has less room than this batch, even after the eviction the failed commit made:
          // commit it in halves, in order, each with its own retries, so that a full disk slows
          // commits down instead of stopping them behind one batch that can never fit.
          const half = Math.ceil(batch.length / 2);
          await this.commit(batch.slice(0, half));
          await this.commit(batch.slice(half));
          return;
        }
        if (
          !(this.options.shouldRetry ?? ((e: DrError) => e.retryable))(err) ||
          attempt >= this.options.maxRetries
        ) {
          for (const p of batch) p.reject(err);
          return;
        }
        this.options.onRetry?.(err, attempt);
        const backoff = Math.min(
          this.options.retryMaxMs,
          this.options.retryBaseMs * 2 ** Math.min(attempt, 30),
        );
        await this.options.clock.sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
  }

  /** Commits what waits and refuses further appends. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
