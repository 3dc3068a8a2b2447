import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteRecordStore } from '../../shared/src/store';
import { collect, spawnTs } from '../support/child';
import { useTempDir } from '../support/temp-dir';

const KILLS = 32;

interface Committed {
  firstSeq: number;
  lastSeq: number;
  firstN: number;
}

/** Power loss, approximated: a writer appending in a loop is SIGKILLed at a random moment. */
describe('store crash safety', () => {
  const tempDir = useTempDir();

  it(`keeps every committed append exactly once across ${KILLS} SIGKILLs of a writer`, async () => {
    const dbPath = join(tempDir(), 'store.db');
    const committedByRound: Committed[][] = [];
    for (let round = 0; round < KILLS; round++) {
      const committed: Committed[] = [];
      const child = spawnTs('test/support/store-worker.ts', ['append', dbPath, `w${round}`, '1000000']);
      let killTimer: NodeJS.Timeout | undefined;
      const done = collect(child, (line) => {
        const [tag, a, b, c] = line.split(' ');
        if (tag === 'A') {
          committed.push({ firstSeq: Number(a), lastSeq: Number(b), firstN: Number(c) });
          // Kill at a random moment once the writer is in its loop.
          killTimer ??= setTimeout(() => child.kill('SIGKILL'), 5 + Math.random() * 150);
        }
      });
      const result = await done;
      clearTimeout(killTimer);
      expect(result.signal).toBe('SIGKILL');
      expect(committed.length).toBeGreaterThan(0);
      committedByRound.push(committed);

      // The database must open cleanly after every kill, with its integrity intact.
      const store = SqliteRecordStore.open({ path: dbPath, gatewayId: 'gw-test', integrityCheck: true });
      store.close();
    }

    const db = new Database(dbPath, { readonly: true });
    try {
      const rows = db
        .prepare<[], { seq: number; writer: string; n: number }>(
          "SELECT seq, json_extract(body, '$.writer') AS writer, json_extract(body, '$.n') AS n FROM records",
        )
        .all();
      const bySeq = new Map(rows.map((r) => [r.seq, r]));
      const keys = new Set(rows.map((r) => `${r.writer}/${r.n}`));
      expect(keys.size).toBe(rows.length); // no record stored twice
      committedByRound.forEach((committed, round) => {
        for (const c of committed) {
          for (let seq = c.firstSeq; seq <= c.lastSeq; seq++) {
            const row = bySeq.get(seq);
            expect(row).toEqual({ seq, writer: `w${round}`, n: c.firstN + (seq - c.firstSeq) });
          }
        }
      });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  }, 240_000);
});
