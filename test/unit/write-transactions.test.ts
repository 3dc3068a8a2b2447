import Database from 'better-sqlite3';
import { join } from 'node:path';
import { LONG_TRANSACTION_MS, WriteTransactions } from '../../shared/src/store/write-tx';
import { useTempDir } from '../support/temp-dir';

/** Holds the thread for at least `ms` (the transaction's own work, as far as the lock is concerned). */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('write transactions', () => {
  const tempDir = useTempDir();

  it('counts per kind the transactions that held the lock past the bound, and their longest', () => {
    const db = new Database(join(tempDir(), 'tx.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v INTEGER)');
    const tx = new WriteTransactions(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < 3; i++) tx.run('append', () => insert.run(i));
    tx.run('compact', () => {
      insert.run(99);
      busy(LONG_TRANSACTION_MS + 20);
    });
    expect(() =>
      tx.run('append', () => {
        insert.run(100);
        throw new Error('refused');
      }),
    ).toThrow('refused');

    const s = tx.stats();
    expect(s.byKind['append']).toMatchObject({ count: 3, overBound: 0 });
    expect(s.byKind['compact']).toMatchObject({ count: 1, overBound: 1 });
    expect(s.byKind['compact']?.maxWorkMs).toBeGreaterThan(LONG_TRANSACTION_MS);
    expect(s.maxWriteTransactionMs).toBe(s.byKind['compact']?.maxMs);
    // The failed one was rolled back and is not counted.
    expect(db.prepare('SELECT COUNT(*) FROM t').pluck().get()).toBe(4);
    db.close();
  });
});
