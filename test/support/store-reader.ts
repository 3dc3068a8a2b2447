import Database from 'better-sqlite3';
import { decodeEnvelope } from '../../shared/src/envelope';
import { LANE_PRIORITY } from '../../shared/src/record';

export interface StoredRow {
  seq: number;
  lane: number;
  stream: string;
  device_id: string;
  ts_ms: number;
  body: string;
}

/** Records still held in compacted blocks, in the row shape (their acknowledged ones left out). */
function blockRows(db: Database.Database): StoredRow[] {
  const hasBlocks =
    db.prepare<[], number>("SELECT count(*) FROM sqlite_schema WHERE name = 'block_data'").pluck().get() ===
    1;
  if (!hasBlocks) return [];
  const acked = new Set(db.prepare<[], number>('SELECT seq FROM block_acks').pluck().all());
  const out: StoredRow[] = [];
  for (const payload of db.prepare<[], Buffer>('SELECT payload FROM block_data ORDER BY id').pluck().all()) {
    for (const r of decodeEnvelope(payload).records) {
      const seq = Number(r.id.slice(r.id.lastIndexOf(':') + 1));
      if (acked.has(seq)) continue;
      out.push({
        seq,
        lane: LANE_PRIORITY[r.lane],
        stream: r.stream,
        device_id: r.deviceId,
        ts_ms: r.tsMs,
        body: JSON.stringify(r.body),
      });
    }
  }
  return out;
}

/** Reads a store file through its own read-only connection, as an outside observer: rows and blocks. */
export function readStore(path: string): {
  records: StoredRow[];
  deadLetters: { reason: string; source: string; raw: Buffer }[];
} {
  const db = new Database(path, { readonly: true, timeout: 5_000 });
  try {
    const rows = db
      .prepare<[], StoredRow>('SELECT seq, lane, stream, device_id, ts_ms, body FROM records ORDER BY seq')
      .all();
    return {
      records: [...rows, ...blockRows(db)].sort((a, b) => a.seq - b.seq),
      deadLetters: db
        .prepare<[], { reason: string; source: string; raw: Buffer }>(
          'SELECT reason, source, raw FROM dead_letters ORDER BY id',
        )
        .all(),
    };
  } finally {
    db.close();
  }
}

export function countRecords(path: string): number {
  return readStore(path).records.length;
}
