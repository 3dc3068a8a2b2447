import type Database from 'better-sqlite3';

export interface WriteStats {
  /** The longest time this handle held the write lock (BEGIN IMMEDIATE acquired to COMMIT done). */
  readonly maxWriteTransactionMs: number;
  readonly byKind: Readonly<Record<string, { count: number; maxMs: number; totalMs: number }>>;
}

/**
 * Every write is an IMMEDIATE transaction: a deferred one that reads first and then writes can fail
 * with SQLITE_BUSY at once (its snapshot is stale) without calling the busy handler; an immediate one
 * waits on busyTimeoutMs instead. The time the lock is held (from BEGIN to the end of COMMIT, the fsync
 * included) is measured per kind of transaction, so bounds on it can be checked by benchmarks.
 */
export class WriteTransactions {
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private maxMs = 0;
  private readonly kinds = new Map<string, { count: number; maxMs: number; totalMs: number }>();

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  run<T>(kind: string, fn: () => T): T {
    this.begin.run();
    const started = performance.now();
    let result: T;
    try {
      result = fn();
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
    const ms = performance.now() - started;
    if (ms > this.maxMs) this.maxMs = ms;
    const k = this.kinds.get(kind) ?? { count: 0, maxMs: 0, totalMs: 0 };
    k.count += 1;
    k.totalMs += ms;
    if (ms > k.maxMs) k.maxMs = ms;
    this.kinds.set(kind, k);
    return result;
  }

  stats(): WriteStats {
    return {
      maxWriteTransactionMs: this.maxMs,
      byKind: Object.fromEntries([...this.kinds].map(([k, v]) => [k, { ...v }])),
    };
  }
}
