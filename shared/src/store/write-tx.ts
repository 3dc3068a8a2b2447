import type Database from 'better-sqlite3';

export interface KindStats {
  count: number;
  maxMs: number;
  totalMs: number;
  /** The longest COMMIT alone (the WAL's fsync under synchronous FULL): the disk's share. */
  maxCommitMs: number;
  /** The work of the longest transaction before its COMMIT: the store's own share. */
  maxWorkMs: number;
  /** Transactions that held the lock longer than LONG_TRANSACTION_MS. */
  overBound: number;
}

/** The bound on holding the write lock that benchmarks check (and count transactions over). */
export const LONG_TRANSACTION_MS = 100;

export interface WriteStats {
  /** The longest time this handle held the write lock (BEGIN IMMEDIATE acquired to COMMIT done). */
  readonly maxWriteTransactionMs: number;
  readonly byKind: Readonly<Record<string, KindStats>>;
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
  private readonly kinds = new Map<string, KindStats>();

  constructor(private readonly db: Database.Database) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  run<T>(kind: string, fn: () => T): T {
    this.begin.run();
    const started = performance.now();
    let result: T;
    let committing = started;
    try {
      result = fn();
      committing = performance.now();
      this.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.rollback.run();
      throw err;
    }
    const done = performance.now();
    const ms = done - started;
    if (ms > this.maxMs) this.maxMs = ms;
    const k = this.kinds.get(kind) ?? {
      count: 0,
      maxMs: 0,
      totalMs: 0,
      maxCommitMs: 0,
      maxWorkMs: 0,
      overBound: 0,
    };
    k.count += 1;
    k.totalMs += ms;
    if (ms > LONG_TRANSACTION_MS) k.overBound += 1;
    if (ms > k.maxMs) {
      k.maxMs = ms;
      k.maxWorkMs = committing - started;
    }
    k.maxCommitMs = Math.max(k.maxCommitMs, done - committing);
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
