import type { ClaimResult, IdempotencyStore } from './ports';

interface Entry {
  state: 'pending' | 'done';
  claimedAtMs: number;
}

/**
 * An in-process idempotency store with the semantics of the DynamoDB conditional write: one claim per
 * id succeeds, a stale pending claim can be taken over, a completed id stays a duplicate. For tests and
 * single-process consumers.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  claim(ids: readonly string[], nowMs: number, leaseMs: number): Promise<ReadonlyMap<string, ClaimResult>> {
    const out = new Map<string, ClaimResult>();
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e === undefined || (e.state === 'pending' && e.claimedAtMs < nowMs - leaseMs)) {
        this.entries.set(id, { state: 'pending', claimedAtMs: nowMs });
        out.set(id, 'claimed');
      } else {
        out.set(id, e.state === 'done' ? 'done' : 'busy');
      }
    }
    return Promise.resolve(out);
  }

  complete(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const e = this.entries.get(id);
      if (e !== undefined) e.state = 'done';
    }
    return Promise.resolve();
  }

  release(ids: readonly string[]): Promise<void> {
    for (const id of ids) if (this.entries.get(id)?.state === 'pending') this.entries.delete(id);
    return Promise.resolve();
  }

  get size(): number {
    return this.entries.size;
  }
}
