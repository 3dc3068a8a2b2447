/**
 * `npm run bench -- store-scale [--records=17280000] [--devices=200] [--skab=DIR] [--dir=DIR]`
 *
 * A day-long outage at SKAB-like rates: `records` readings of a fleet of SKAB-like pumps (200 at 1 Hz
 * by default, so 17.28 M is 24 h), appended as Ingest appends them (500 per commit) while the owner's
 * maintenance runs every 5 s of data time (compaction into blocks, quota, checkpoint, vacuum, integrity
 * slice), as the Buffer does. The cost of every store operation is measured at 100 k records and at the
 * full size; bytes per record at rest count pages in use (tables, indexes, blocks) and the WAL.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  statfsSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SKAB_DIR, SkabFleet } from '../dev/skab-fleet';
import { argValue } from '../dev/args';
import { ManualClock } from '../shared/src/clock';
import { SqliteRecordStore, storeSettingsSchema, type StoreSettings } from '../shared/src/store';
import { writeNote } from '../shared/src/store/layout';
import { LONG_TRANSACTION_MS, type KindStats } from '../shared/src/store/write-tx';
import { option, writeChart } from './common';
import { fmt, printTable } from './table';

const COMMIT_RECORDS = 500;
const MAINTENANCE_EVERY_MS = 5_000;
const SMALL = 100_000;
const MiB = 1024 * 1024;

interface Costs {
  append: number;
  nextBatch: number;
  ack: number;
  nextEnvelopes: number;
  ackEnvelope: number;
  metrics: number;
  eviction: number;
  maintenance: number;
  open: number;
  integrityCheck: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function timeIt(runs: number, fn: () => void): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

class Run {
  readonly clock: ManualClock;
  readonly fleet: SkabFleet;
  owner: SqliteRecordStore;
  ingest: SqliteRecordStore;
  appended = 0;
  private lastMaintenanceMs: number;
  maxWriteTransactionMs = 0;
  readonly maxByKind: Record<string, number> = {};
  /** Per kind: the longest COMMIT alone (fsync), and the work before COMMIT in the longest one. */
  readonly commitByKind: Record<string, number> = {};
  readonly workByKind: Record<string, number> = {};
  /** Each handle's latest counts (its statistics are cumulative, and collected more than once). */
  private readonly counts = new Map<SqliteRecordStore, Readonly<Record<string, KindStats>>>();

  constructor(
    readonly path: string,
    readonly settings: StoreSettings,
    startMs: number,
    devices: number,
    skab: string,
  ) {
    this.clock = new ManualClock(startMs);
    this.fleet = new SkabFleet({ dir: skab, devices, startMs });
    this.owner = this.openOwner();
    this.ingest = SqliteRecordStore.open({
      path,
      gatewayId: 'bench-gw',
      settings,
      clock: this.clock,
      create: false,
    });
    this.lastMaintenanceMs = startMs;
  }

  openOwner(settings = this.settings, path = this.path): SqliteRecordStore {
    return SqliteRecordStore.open({
      path,
      gatewayId: 'bench-gw',
      settings,
      clock: this.clock,
      onCorrupt: 'quarantine',
    });
  }

  /** Appends up to `until` records, with maintenance rounds as the Buffer would run them. */
  fill(until: number): void {
    while (this.appended < until) {
      const n = Math.min(COMMIT_RECORDS, until - this.appended);
      const records = this.fleet.nextRecords(n);
      const last = records[records.length - 1];
      if (last !== undefined) this.clock.advance(Math.max(0, last.tsMs + 50 - this.clock.nowMs()));
      this.ingest.append(records);
      this.appended += n;
      if (this.clock.nowMs() - this.lastMaintenanceMs >= MAINTENANCE_EVERY_MS) {
        this.lastMaintenanceMs = this.clock.nowMs();
        this.maintainUntilDone();
      }
    }
  }

  maintainUntilDone(): void {
    for (let i = 0; i < 1_000 && this.owner.maintain().more; i++);
  }

  collectWriteStats(...extra: SqliteRecordStore[]): void {
    for (const h of [this.owner, this.ingest, ...extra]) {
      const s = h.writeStats();
      this.counts.set(h, s.byKind);
      this.maxWriteTransactionMs = Math.max(this.maxWriteTransactionMs, s.maxWriteTransactionMs);
      for (const [k, v] of Object.entries(s.byKind)) {
        if (v.maxMs > (this.maxByKind[k] ?? 0)) this.workByKind[k] = v.maxWorkMs;
        this.maxByKind[k] = Math.max(this.maxByKind[k] ?? 0, v.maxMs);
        this.commitByKind[k] = Math.max(this.commitByKind[k] ?? 0, v.maxCommitMs);
      }
    }
  }

  /** Per kind: write transactions, and those that held the lock longer than LONG_TRANSACTION_MS. */
  transactionCounts(): Record<string, { count: number; overBound: number }> {
    const out: Record<string, { count: number; overBound: number }> = {};
    for (const byKind of this.counts.values())
      for (const [k, v] of Object.entries(byKind)) {
        const o = (out[k] ??= { count: 0, overBound: 0 });
        o.count += v.count;
        o.overBound += v.overBound;
      }
    return out;
  }

  /** Each operation's cost now (median of several runs), without changing what the store holds. */
  costs(scratch: string): Costs {
    const request = { maxRecords: 20_000, maxBytes: 4 * MiB };
    const append = timeIt(9, () => {
      const records = this.fleet.nextRecords(COMMIT_RECORDS);
      this.clock.advance(Math.max(0, (records[records.length - 1]?.tsMs ?? 0) + 50 - this.clock.nowMs()));
      this.ingest.append(records);
      this.appended += COMMIT_RECORDS;
    });
    // A reader's batch from the oldest backlog (blocks), handed back afterwards.
    const nextBatch = timeIt(5, () => {
      const batch = this.ingest.nextBatch(request);
      this.ingest.release(batch.map((r) => r.id));
    });
    // Acknowledging a delivered batch of backlog records (record by record, inside a block).
    const ack = median(
      Array.from({ length: 5 }, () => {
        const read = this.ingest.nextBatch(request);
        this.ingest.release(read.slice(0, -COMMIT_RECORDS).map((r) => r.id));
        const started = performance.now();
        this.ingest.ack(read.slice(-COMMIT_RECORDS).map((r) => r.id));
        return performance.now() - started;
      }),
    );
    const envRequest = { maxEnvelopes: 4, maxEnvelopeBytes: 124 * 1024 };
    const nextEnvelopes = timeIt(5, () => {
      const units = this.ingest.nextEnvelopes(envRequest);
      this.ingest.releaseEnvelopes(units.map((u) => u.unitId));
    });
    // Acknowledging a block sent as stored (the oldest backlog).
    const ackEnvelope = median(
      Array.from({ length: 5 }, () => {
        const units = this.ingest.nextEnvelopes({ ...envRequest, maxEnvelopes: 64 });
        const block = units.find((u) => u.source === 'block');
        this.ingest.releaseEnvelopes(units.filter((u) => u !== block).map((u) => u.unitId));
        const started = performance.now();
        if (block !== undefined) this.ingest.ackEnvelopes([block.unitId]);
        return performance.now() - started;
      }),
    );
    const metrics = timeIt(9, () => this.owner.metrics());
    const maintenance = timeIt(5, () => this.owner.maintain());
    this.collectWriteStats();
    this.owner.close();
    const opens: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      this.owner = this.openOwner();
      opens.push(performance.now() - started);
      checks.push(this.owner.integrityCheckMs);
      if (i < 2) {
        this.collectWriteStats();
        this.owner.close();
      }
    }
    return {
      append,
      nextBatch,
      ack,
      nextEnvelopes,
      ackEnvelope,
      metrics,
      eviction: this.evictionCost(scratch),
      maintenance,
      open: median(opens),
      integrityCheck: median(checks),
    };
  }

  /**
   * On a copy of the store files: the quota lowered to 90 % of what the store uses, so that the next
   * maintenance evicts. The cost is that of one eviction chunk (the unit of work that holds the lock).
   */
  private evictionCost(scratch: string): number {
    this.owner.maintain(); // a passive checkpoint first, so the copy is mostly the data file
    const target = join(this.path, '..', readlinkSync(this.path));
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const copyPath = join(scratch, 'records.db');
    const copyTarget = join(scratch, readlinkSync(this.path));
    for (const suffix of ['', '-wal']) {
      try {
        copyFileSync(`${target}${suffix}`, `${copyTarget}${suffix}`);
      } catch {
        // no WAL
      }
    }
    symlinkSync(readlinkSync(this.path), copyPath);
    writeNote(copyPath, {
      target: readlinkSync(this.path),
      inode: statSync(copyTarget).ino,
      epoch: this.owner.epoch,
    });
    const used = this.owner.metrics();
    const tight = storeSettingsSchema.parse({
      ...this.settings,
      maxStoreBytes: Math.max(MiB, Math.floor(used.bytesAtRest * 0.9)),
    });
    const copy = this.openOwner(tight, copyPath);
    try {
      for (let i = 0; i < 3; i++) copy.maintain();
      this.collectWriteStats(copy);
      return copy.writeStats().byKind['evict']?.maxMs ?? 0;
    } finally {
      copy.close();
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  close(): void {
    this.collectWriteStats();
    this.owner.close();
    this.ingest.close();
  }
}

export function storeScaleBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  return Promise.resolve(storeScale(args));
}

function storeScale(args: readonly string[]): Record<string, unknown> {
  const records = option(args, 'records', 17_280_000);
  const devices = option(args, 'devices', 200);
  const skab = argValue(args, '--skab') ?? DEFAULT_SKAB_DIR;
  const base = argValue(args, '--dir') ?? tmpdir();
  const dir = mkdtempSync(join(base, 'ggdr-scale-'));
  const free = statfsSync(dir);
  console.log(
    `store-scale: ${fmt(records)} SKAB-like records, ${devices} devices; in ${dir} (${fmt((free.bavail * free.bsize) / 1e9, 1)} GB free)`,
  );
  const settings = storeSettingsSchema.parse({});
  const startMs = Date.UTC(2026, 0, 1);
  const run = new Run(join(dir, 'records.db'), settings, startMs, devices, skab);
  const started = performance.now();
  try {
    const small = Math.min(SMALL, records);
    run.fill(small);
    run.maintainUntilDone();
    const atSmall = run.costs(join(dir, 'scratch'));
    console.log(
      `  at ${fmt(run.appended)} records (${fmt((performance.now() - started) / 1000, 1)} s):`,
      atSmall,
    );
    let lastReport = performance.now();
    /** The store as it grows, for the chart: records appended, MiB at rest, seconds so far. */
    const growth: { records: number; mibAtRest: number; seconds: number }[] = [];
    const observe = (): void => {
      growth.push({
        records: run.appended,
        mibAtRest: Number((run.owner.metrics().bytesAtRest / MiB).toFixed(1)),
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      });
    };
    observe();
    while (run.appended < records) {
      run.fill(Math.min(records, run.appended + 200_000));
      // A point of the chart every million records; a progress line every 30 s.
      if (run.appended - (growth.at(-1)?.records ?? 0) >= 1_000_000 || run.appended >= records) observe();
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        const m = run.owner.metrics();
        console.log(
          `  ${fmt(run.appended)} records, ${fmt(m.bytesAtRest / MiB, 1)} MiB at rest, ${fmt(m.recordsInBlocks)} in ${fmt(m.blocks)} blocks, ${fmt((performance.now() - started) / 1000)} s`,
        );
      }
    }
    run.maintainUntilDone();
    const m = run.owner.metrics();
    writeChart('store-scale', {
      title: `store-scale: ${fmt(records)} SKAB-like records from ${devices} devices, appended as Ingest does`,
      xLabel: 'records appended',
      panels: [
        {
          yLabel: 'MiB at rest',
          series: [{ name: 'store size', points: growth.map((g) => [g.records, g.mibAtRest] as const) }],
        },
        {
          yLabel: 'seconds',
          series: [{ name: 'time so far', points: growth.map((g) => [g.records, g.seconds] as const) }],
        },
      ],
    });
    const stored = m.lanes.telemetry.depth + m.lanes.alert.depth;
    const bytesPerRecordAtRest = m.bytesAtRest / stored;
    const atFull = run.costs(join(dir, 'scratch'));
    run.collectWriteStats();
    const ratios = Object.fromEntries(
      (Object.keys(atFull) as (keyof Costs)[]).map((k) => [
        k,
        Number((atFull[k] / Math.max(atSmall[k], 1e-3)).toFixed(2)),
      ]),
    );
    const hours = settings.maxStoreBytes / (bytesPerRecordAtRest * 200 * 3600);
    const counts = run.transactionCounts();
    printTable(`store-scale: ${fmt(stored)} records stored, ${fmt(m.evictedRecordsTotal)} evicted`, [
      ['bytes per record at rest', `${fmt(bytesPerRecordAtRest, 2)} B (target <= 30)`],
      [
        'at rest (pages in use + WAL)',
        `${fmt(m.bytesAtRest / MiB, 1)} MiB; WAL ${fmt(m.walBytes / MiB, 1)} MiB`,
      ],
      ['default quota holds at 200 readings/s', `${fmt(hours, 1)} h (target >= 24)`],
      ['records in blocks', `${fmt(m.recordsInBlocks)} in ${fmt(m.blocks)} blocks`],
      [
        'longest write transaction',
        `${fmt(run.maxWriteTransactionMs, 1)} ms (target <= ${LONG_TRANSACTION_MS})`,
      ],
      ...Object.keys(run.maxByKind).map(
        (k) =>
          [
            `  ${k}`,
            `longest ${fmt(run.maxByKind[k] ?? 0, 1)} ms (work before COMMIT ${fmt(run.workByKind[k] ?? 0, 1)} ms); longest COMMIT ${fmt(run.commitByKind[k] ?? 0, 1)} ms; ${fmt(counts[k]?.overBound ?? 0)} of ${fmt(counts[k]?.count ?? 0)} over ${LONG_TRANSACTION_MS} ms`,
          ] as const,
      ),
      ...(Object.keys(atFull) as (keyof Costs)[]).map(
        (k) =>
          [
            k,
            `${fmt(atSmall[k], 2)} ms at ${fmt(small)}, ${fmt(atFull[k], 2)} ms at ${fmt(stored)}: x${fmt(ratios[k] ?? 0, 2)} (target <= 2)`,
          ] as const,
      ),
    ]);
    return {
      records: stored,
      appended: run.appended,
      devices,
      bytesPerRecordAtRest: Number(bytesPerRecordAtRest.toFixed(2)),
      bytesAtRest: m.bytesAtRest,
      walBytes: m.walBytes,
      evictedRecords: m.evictedRecordsTotal,
      blocks: m.blocks,
      recordsInBlocks: m.recordsInBlocks,
      fitsDefaultQuotaHoursAt200PerSec: Number(hours.toFixed(1)),
      opRatios: ratios,
      costsMs: { atSmall, atFull, smallRecords: small },
      maxWriteTransactionMs: Number(run.maxWriteTransactionMs.toFixed(1)),
      maxWriteTransactionMsByKind: Object.fromEntries(
        Object.entries(run.maxByKind).map(([k, v]) => [k, Number(v.toFixed(1))]),
      ),
      /** Per kind: write transactions in the run, and those over the bound. */
      writeTransactions: counts,
      maxCommitMsByKind: Object.fromEntries(
        Object.entries(run.commitByKind).map(([k, v]) => [k, Number(v.toFixed(1))]),
      ),
      loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
      seconds: Math.round((performance.now() - started) / 1000),
      settings: {
        synchronous: settings.synchronous,
        maxStoreBytes: settings.maxStoreBytes,
        commitRecords: COMMIT_RECORDS,
      },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
  } finally {
    run.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
