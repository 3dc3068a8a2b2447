import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DrError } from '../errors';
import { migrate, type MigrationOutcome } from './schema';
import type { StoreSettings } from './settings';
import { isCorruption, storeError } from './sqlite-errors';

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export type CorruptionPolicy = 'quarantine' | 'fail';

export interface OpenedDatabase {
  readonly db: Database.Database;
  readonly migration: MigrationOutcome;
  readonly inode: number;
  readonly quarantined?: { readonly to: string; readonly reason: string };
}

function headerProblem(path: string): string | null {
  const size = statSync(path).size;
  if (size === 0) return null; // SQLite treats an empty file as a new database.
  if (size < SQLITE_MAGIC.length) return `file of ${size} bytes is too short to be a database`;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    readSync(fd, head, 0, head.length, 0);
    return head.equals(SQLITE_MAGIC) ? null : 'file is not an SQLite database (bad header)';
  } finally {
    closeSync(fd);
  }
}

function applyPragmas(db: Database.Database, settings: StoreSettings): void {
  // Incremental auto-vacuum lets maintenance hand freed pages back to the file system; it only takes
  // effect on a database with no tables yet, so it is set before the first migration.
  db.pragma('auto_vacuum = INCREMENTAL');
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal')
    throw new DrError('STORE_IO', `could not switch the store to WAL (got ${String(mode)})`);
  db.pragma(`synchronous = ${settings.synchronous}`);
  db.pragma('temp_store = MEMORY');
  db.pragma(`wal_autocheckpoint = ${settings.walAutocheckpointPages}`);
  db.pragma(`journal_size_limit = ${settings.journalSizeLimitBytes}`);
  db.pragma('foreign_keys = OFF');
}

/** `quick_check` is O(N) but skips index cross-checks: cheap enough for every start of the store owner. */
function integrityProblem(db: Database.Database): string | null {
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const messages = rows.map((r) => r.quick_check);
  return messages.length === 1 && messages[0] === 'ok' ? null : `quick_check: ${messages.join('; ')}`;
}

function quarantine(path: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  let target = `${path}.corrupt-${stamp}`;
  for (let n = 1; existsSync(target); n++) target = `${path}.corrupt-${stamp}-${n}`;
  renameSync(path, target);
  // The WAL belongs to the damaged file: keep it beside the quarantined copy for forensics.
  if (existsSync(`${path}-wal`)) renameSync(`${path}-wal`, `${target}-wal`);
  rmSync(`${path}-shm`, { force: true });
  return target;
}

function openOnce(path: string, settings: StoreSettings, gatewayId: string, check: boolean): OpenedDatabase {
  if (existsSync(path)) {
    const problem = headerProblem(path);
    if (problem !== null) throw new DrError('STORE_CORRUPT', problem, { details: { path } });
  }
  const db = new Database(path, { timeout: settings.busyTimeoutMs });
  try {
    applyPragmas(db, settings);
    if (check) {
      const problem = integrityProblem(db);
      if (problem !== null) throw new DrError('STORE_CORRUPT', problem, { details: { path } });
    }
    const migration = migrate(db, gatewayId);
    return { db, migration, inode: statSync(path).ino };
  } catch (err) {
    db.close();
    if (isCorruption(err)) throw new DrError('STORE_CORRUPT', (err as Error).message, { cause: err });
    throw storeError(err, 'open');
  }
}

/**
 * Opens (creating when absent) the store database. With policy `quarantine` a damaged or foreign file
 * is moved aside under a timestamped name and a fresh store is created; the caller reports the event.
 * Only the store's owner (the Buffer component) should quarantine: other processes use `fail` and are
 * restarted once the owner has recreated the store.
 */
export function openDatabase(
  path: string,
  settings: StoreSettings,
  gatewayId: string,
  options: { readonly onCorrupt: CorruptionPolicy; readonly integrityCheck: boolean; readonly nowMs: number },
): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  try {
    return openOnce(path, settings, gatewayId, options.integrityCheck);
  } catch (err) {
    if (!(err instanceof DrError && err.code === 'STORE_CORRUPT') || options.onCorrupt === 'fail') throw err;
    const to = quarantine(path, options.nowMs);
    const fresh = openOnce(path, settings, gatewayId, false);
    return { ...fresh, quarantined: { to, reason: err.message } };
  }
}
