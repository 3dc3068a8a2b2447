import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteRecordStore, storeSettingsSchema } from '../../shared/src/store';
import { readStore } from '../support/store-reader';
import { collect, spawnTs } from '../support/child';
import { useTempDir } from '../support/temp-dir';

const KILLS = 32;
const COMPACTION_KILLS = 16;

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

  it('keeps every committed record exactly once when writer and compactor are killed at random moments', async () => {
    const dbPath = join(tempDir(), 'store.db');
    const settings = { compaction: { minBlockRecords: 50, maxBlockBytes: 8_192, maxWaitMs: 0 } };
    const env = { STORE_SETTINGS: JSON.stringify(settings), RECORD_AGE_MS: '7200000' };
    SqliteRecordStore.open({
      path: dbPath,
      gatewayId: 'gw-test',
      settings: storeSettingsSchema.parse(settings),
    }).close();
    const committedByRound: Committed[][] = [];
    for (let round = 0; round < COMPACTION_KILLS; round++) {
      const committed: Committed[] = [];
      const writer = spawnTs('test/support/store-worker.ts', ['append', dbPath, `w${round}`, '1000000'], env);
      const compactor = spawnTs('test/support/store-worker.ts', ['maintain', dbPath, `m${round}`], env);
      const timers: NodeJS.Timeout[] = [];
      const writing = collect(writer, (line) => {
        const [tag, a, b, c] = line.split(' ');
        if (tag !== 'A') return;
        committed.push({ firstSeq: Number(a), lastSeq: Number(b), firstN: Number(c) });
        if (timers.length === 0) {
          // Both are killed at random moments once under way, the compactor usually mid-block.
          timers.push(setTimeout(() => compactor.kill('SIGKILL'), 50 + Math.random() * 400));
          timers.push(setTimeout(() => writer.kill('SIGKILL'), 100 + Math.random() * 400));
        }
      });
      const [w, m] = await Promise.all([writing, collect(compactor, () => undefined)]);
      timers.forEach(clearTimeout);
      expect([w.signal, m.signal]).toEqual(['SIGKILL', 'SIGKILL']);
      committedByRound.push(committed);
    }
    // Whatever was interrupted is finished by the next maintenance; the store is whole.
    const store = SqliteRecordStore.open({
      path: dbPath,
      gatewayId: 'gw-test',
      integrityCheck: true,
      settings: storeSettingsSchema.parse(settings),
    });
    try {
      for (let i = 0; i < 10_000 && store.maintain().more; i++);
      const { records } = readStore(dbPath);
      const keys = records.map((r) => {
        const body = JSON.parse(r.body) as { writer: string; n: number };
        return `${body.writer}/${body.n}`;
      });
      expect(new Set(keys).size).toBe(keys.length); // none twice
      const bySeq = new Map(records.map((r) => [r.seq, JSON.parse(r.body) as { writer: string; n: number }]));
      committedByRound.forEach((committed, round) => {
        for (const c of committed)
          for (let seq = c.firstSeq; seq <= c.lastSeq; seq++)
            expect(bySeq.get(seq)).toMatchObject({ writer: `w${round}`, n: c.firstN + (seq - c.firstSeq) });
      });
      const m = store.metrics();
      expect(m.blocks).toBeGreaterThan(0);
      expect(m.lanes.telemetry.depth).toBe(records.length); // counters in step with what is held
      expect(m.recordsInBlocks).toBeGreaterThan(0);
    } finally {
      store.close();
    }
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  }, 240_000);
});
