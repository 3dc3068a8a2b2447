import Database from 'better-sqlite3';

export interface StoredRow {
  seq: number;
  lane: number;
  stream: string;
  device_id: string;
  ts_ms: number;
  body: string;
}

/** Reads a store file through its own read-only connection, as an outside observer. */
export function readStore(path: string): {
  records: StoredRow[];
  deadLetters: { reason: string; source: string; raw: Buffer }[];
} {
  const db = new Database(path, { readonly: true, timeout: 5_000 });
  try {
    return {
      records: db
        .prepare<[], StoredRow>('SELECT seq, lane, stream, device_id, ts_ms, body FROM records ORDER BY seq')
        .all(),
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
  const db = new Database(path, { readonly: true, timeout: 5_000 });
  try {
    return db.prepare<[], number>('SELECT count(*) FROM records').pluck().get() ?? 0;
  } finally {
    db.close();
  }
}
