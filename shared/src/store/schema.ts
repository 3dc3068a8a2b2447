import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { DrError } from '../errors';

/**
 * Versioned schema. `PRAGMA user_version` holds the applied version; migrations run in one
 * IMMEDIATE transaction at open, so processes opening the store together apply each one once.
 * Append new migrations at the end; never edit a released one.
 */
interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'records, dead letters, counters, meta',
    statements: [
      `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
      // AUTOINCREMENT: a sequence is never reused, even after the newest records are acknowledged,
      // so record ids stay unique for the life of the store file.
      `CREATE TABLE records (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         lane INTEGER NOT NULL,
         stream TEXT NOT NULL,
         device_id TEXT NOT NULL,
         ts_ms INTEGER NOT NULL,
         body TEXT NOT NULL,
         size_bytes INTEGER NOT NULL
       )`,
      `CREATE INDEX records_by_lane_ts ON records (lane, ts_ms, seq)`,
      `CREATE TABLE dead_letters (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at_ms INTEGER NOT NULL,
         source TEXT NOT NULL,
         reason TEXT NOT NULL,
         detail TEXT NOT NULL,
         raw BLOB NOT NULL,
         raw_bytes INTEGER NOT NULL
       )`,
      `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
    ],
  },
  {
    version: 2,
    description: 'compacted blocks, per-lane counters',
    statements: [
      // A block holds telemetry records compacted out of `records`, as one envelope v2 payload (the
      // upstream encoding, so it is sent as stored). Its metadata row is small; the payload lives in
      // block_data so that checks and scans of the metadata never read the payloads. Rows move into a
      // block in short transactions: those up to rows_until are the block's, later ones still rows.
      `CREATE TABLE blocks (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         lane INTEGER NOT NULL,
         first_seq INTEGER NOT NULL,
         last_seq INTEGER NOT NULL,
         min_ts_ms INTEGER NOT NULL,
         max_ts_ms INTEGER NOT NULL,
         count INTEGER NOT NULL,
         rows_until INTEGER NOT NULL,
         live INTEGER NOT NULL,
         raw_bytes INTEGER NOT NULL,
         live_bytes INTEGER NOT NULL,
         payload_bytes INTEGER NOT NULL,
         crc INTEGER NOT NULL,
         seq_runs TEXT NOT NULL,
         summary TEXT NOT NULL
       )`,
      `CREATE INDEX blocks_by_lane_ts ON blocks (lane, min_ts_ms, first_seq)`,
      `CREATE INDEX blocks_by_last_seq ON blocks (last_seq)`,
      `CREATE TABLE block_data (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)`,
      // Records of a block acknowledged one by one (through the record-level API).
      `CREATE TABLE block_acks (seq INTEGER PRIMARY KEY, block_id INTEGER NOT NULL)`,
      // Depth and bytes per lane are counters kept in step by every write, so metrics never count rows.
      `INSERT OR REPLACE INTO counters (name, value)
         SELECT 'depth:' || lane, count(*) FROM records GROUP BY lane`,
      `INSERT OR REPLACE INTO counters (name, value)
         SELECT 'bytes:' || lane, total(size_bytes) FROM records GROUP BY lane`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

export interface MigrationOutcome {
  readonly fromVersion: number;
  readonly toVersion: number;
}

export function newEpoch(): string {
  return randomBytes(4).toString('hex');
}

export function migrate(
  db: Database.Database,
  gatewayId: string,
  epoch: string = newEpoch(),
): MigrationOutcome {
  const readVersion = db.prepare<[], number>('PRAGMA user_version').pluck();
  const run = db.transaction((): MigrationOutcome => {
    const fromVersion = readVersion.get() ?? 0;
    if (fromVersion > SCHEMA_VERSION) {
      throw new DrError(
        'STORE_SCHEMA_TOO_NEW',
        `store schema version ${fromVersion} is newer than this software's ${SCHEMA_VERSION}`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= fromVersion) continue;
      for (const sql of migration.statements) db.prepare(sql).run();
      // PRAGMA cannot take a bound parameter; the value is a constant from the table above.
      db.prepare(`PRAGMA user_version = ${migration.version}`).run();
    }
    const insertMeta = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
    // The epoch makes ids of a recreated store differ from those of the store it replaced.
    insertMeta.run('epoch', epoch);
    insertMeta.run('gatewayId', gatewayId);
    insertMeta.run('createdAtMs', String(Date.now()));
    return { fromVersion, toVersion: SCHEMA_VERSION };
  });
  return run.immediate();
}
