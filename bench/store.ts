import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../shared/src/clock';
import type { NewRecord } from '../shared/src/record';
import {
  GroupCommitWriter,
  SqliteRecordStore,
  storeSettingsSchema,
  type StoreSettings,
} from '../shared/src/store';
import { option, pumpMeasurements } from './common';
import { fmt, printTable } from './table';

const TXN_ROWS = 1_000;

/** About 200-byte bodies, shaped like pump telemetry. */
function makeRecords(count: number): NewRecord[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    stream: 'pump/sensors',
    lane: 'telemetry' as const,
    deviceId: `pump-${i % 8}`,
    tsMs: now - count + i,
    body: { ...pumpMeasurements(i), seq: i },
  }));
}

function rawInsert(dir: string, settings: StoreSettings, records: readonly NewRecord[]): number {
  const db = new Database(join(dir, 'raw.db'), { timeout: settings.busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${settings.synchronous}`);
  db.prepare(
    `CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, lane INTEGER NOT NULL, stream TEXT NOT NULL,
     device_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, body TEXT NOT NULL, size_bytes INTEGER NOT NULL)`,
  ).run();
  db.prepare('CREATE INDEX records_by_lane_ts ON records (lane, ts_ms, seq)').run();
  const insert = db.prepare(
    'INSERT INTO records (lane, stream, device_id, ts_ms, body, size_bytes) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const tx = db.transaction((rows: readonly NewRecord[]) => {
    for (const r of rows) {
      const body = JSON.stringify(r.body);
      insert.run(1, r.stream, r.deviceId, r.tsMs, body, body.length);
    }
  });
  const started = performance.now();
  for (let i = 0; i < records.length; i += TXN_ROWS) tx.immediate(records.slice(i, i + TXN_ROWS));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return records.length / seconds;
}

interface Round {
  rawInsertRecordsPerSec: number;
  appendRecordsPerSec: number;
  groupCommitWriterRecordsPerSec: number;
  readAckRecordsPerSec: number;
  pragmas: Record<string, unknown>;
}

async function oneRound(dir: string, settings: StoreSettings, records: readonly NewRecord[]): Promise<Round> {
  const count = records.length;
  const rawInsertRecordsPerSec = rawInsert(dir, settings, records);

  const store = SqliteRecordStore.open({ path: join(dir, 'store.db'), gatewayId: 'bench-gw', settings });
  let started = performance.now();
  for (let i = 0; i < count; i += TXN_ROWS) store.append(records.slice(i, i + TXN_ROWS));
  const appendRecordsPerSec = count / ((performance.now() - started) / 1000);

  // Many callers of one record each, gathered by the group-commit writer (how Ingest appends).
  const writer = new GroupCommitWriter(store, {
    flushIntervalMs: 10,
    maxBatchRecords: TXN_ROWS,
    maxRetries: 3,
    retryBaseMs: 10,
    retryMaxMs: 100,
    clock: systemClock,
  });
  const callers = Math.min(count, 50_000);
  started = performance.now();
  await Promise.all(records.slice(0, callers).map((r) => writer.append([r])));
  const groupCommitWriterRecordsPerSec = callers / ((performance.now() - started) / 1000);
  await writer.close();
  store.maintain();

  const pragmas = store.pragmas();
  started = performance.now();
  let drained = 0;
  for (;;) {
    const batch = store.nextBatch({ maxRecords: 500, maxBytes: 120 * 1024 });
    if (batch.length === 0) break;
    store.ack(batch.map((r) => r.id));
    drained += batch.length;
  }
  const readAckRecordsPerSec = drained / ((performance.now() - started) / 1000);
  store.close();
  if (drained !== count + callers) throw new Error(`drained ${drained} of ${count + callers} records`);
  return {
    rawInsertRecordsPerSec,
    appendRecordsPerSec,
    groupCommitWriterRecordsPerSec,
    readAckRecordsPerSec,
    pragmas,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function storeBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const count = option(args, 'records', 200_000);
  const roundsWanted = option(args, 'rounds', 3);
  const synchronous = (args.find((a) => a.startsWith('--synchronous='))?.split('=')[1] ??
    'FULL') as StoreSettings['synchronous'];
  const settings = storeSettingsSchema.parse({ synchronous, maxStoreBytes: 4 * 1024 ** 3 });
  const records = makeRecords(count);
  const bodyBytes = records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r.body)), 0) / count;
  const rounds: Round[] = [];
  for (let i = 0; i < roundsWanted; i++) {
    // A fresh directory per round: each round starts from empty files, like the first.
    const dir = mkdtempSync(join(tmpdir(), 'ggdr-bench-'));
    try {
      rounds.push(await oneRound(dir, settings, records));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const med = (key: Exclude<keyof Round, 'pragmas'>): number => median(rounds.map((r) => r[key]));
  const rawInsertRecordsPerSec = med('rawInsertRecordsPerSec');
  const appendRecordsPerSec = med('appendRecordsPerSec');
  // The ratio is taken per round (raw and store measured back to back), then the median.
  const appendToRawRatio = median(rounds.map((r) => r.appendRecordsPerSec / r.rawInsertRecordsPerSec));
  const readAckRecordsPerSec = med('readAckRecordsPerSec');
  const groupCommitWriterRecordsPerSec = med('groupCommitWriterRecordsPerSec');

  printTable(
    `store: ${count} records of ~${Math.round(bodyBytes)}-byte bodies, synchronous=${synchronous}, ` +
      `${TXN_ROWS} per transaction, median of ${rounds.length} rounds`,
    [
      ['raw better-sqlite3 insert', `${fmt(rawInsertRecordsPerSec)} records/s`],
      ['store append (group commit)', `${fmt(appendRecordsPerSec)} records/s`],
      ['append / raw', `${fmt(appendToRawRatio, 2)} (target >= 0.5)`],
      ['group-commit writer, 1 record per caller', `${fmt(groupCommitWriterRecordsPerSec)} records/s`],
      ['read + ack (500 per batch)', `${fmt(readAckRecordsPerSec)} records/s (target >= 100,000)`],
    ],
  );
  const round = (n: number): number => Math.round(n);
  return {
    records: count,
    bodyBytes: Math.round(bodyBytes),
    recordsPerTransaction: TXN_ROWS,
    rawInsertRecordsPerSec: round(rawInsertRecordsPerSec),
    appendRecordsPerSec: round(appendRecordsPerSec),
    appendToRawRatio: Number(appendToRawRatio.toFixed(3)),
    groupCommitWriterRecordsPerSec: round(groupCommitWriterRecordsPerSec),
    readAckRecordsPerSec: round(readAckRecordsPerSec),
    pragmas: rounds[0]?.pragmas ?? {},
    rounds: rounds.map(({ pragmas: _p, ...r }) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)])),
    ),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}
