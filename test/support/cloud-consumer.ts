import type { DrRecord } from '../../shared/src/record';
import type { BatchSource, DeadLetterSink, RecordSink } from '../../cloud/consumer/ports';

/** A sink that keeps what it is given, and can be told to fail the next writes. */
export class CollectingSink implements RecordSink, DeadLetterSink {
  readonly records: DrRecord[] = [];
  readonly deadLetters: { reason: string; source: BatchSource; bytes: number }[] = [];
  failNext = 0;
  writes = 0;

  write(records: readonly DrRecord[]): Promise<void>;
  write(payload: Uint8Array, reason: string, source: BatchSource): Promise<void>;
  write(first: readonly DrRecord[] | Uint8Array, reason?: string, source?: BatchSource): Promise<void> {
    if (first instanceof Uint8Array) {
      this.deadLetters.push({ reason: reason ?? '', source: source!, bytes: first.length });
      return Promise.resolve();
    }
    this.writes += 1;
    if (this.failNext > 0) {
      this.failNext -= 1;
      return Promise.reject(new Error('sink unavailable'));
    }
    this.records.push(...first);
    return Promise.resolve();
  }
}
