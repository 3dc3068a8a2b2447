import Database from 'better-sqlite3';
import { closeSync, openSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mountSmallDisk, smallDiskUnavailable } from '../../dev/small-disk';
import { systemClock } from '../../shared/src/clock';
import {
  GroupCommitWriter,
  SqliteRecordStore,
  storeSettingsSchema,
  type GroupCommitOptions,
} from '../../shared/src/store';
import { sized, telemetry } from '../support/records';
import { useTempDir } from '../support/temp-dir';

const T0 = 1_800_000_000_000;

describe('group commit', () => {
  const tempDir = useTempDir();
  let store: SqliteRecordStore;
  let commits: number[];

  function writer(overrides: Partial<GroupCommitOptions> = {}): GroupCommitWriter {
    return new GroupCommitWriter(store, {
      flushIntervalMs: 20,
      maxBatchRecords: 10_000,
      maxRetries: 5,
      retryBaseMs: 20,
      retryMaxMs: 200,
      clock: systemClock,
      onCommit: (c) => commits.push(c.records.length),
      ...overrides,
    });
  }

  function openStore(settings: Record<string, unknown> = {}): SqliteRecordStore {
    return SqliteRecordStore.open({
      path: join(tempDir(), 'store.db'),
      gatewayId: 'gw-test',
      settings: storeSettingsSchema.parse(settings),
    });
  }

  beforeEach(() => {
    commits = [];
    store = openStore({ maxRecordBodyBytes: 1024, busyTimeoutMs: 20 });
  });
  afterEach(() => store.close());

  it('commits many callers in one transaction and resolves each with its own ids, in order', async () => {
    const w = writer();
    const calls = Array.from({ length: 50 }, (_, i) =>
      w.append([telemetry(T0 + i, i * 2), telemetry(T0 + i, i * 2 + 1)]),
    );
    const results = await Promise.all(calls);
    expect(commits).toEqual([100]);
    const all = results.flat();
    expect(new Set(all).size).toBe(100);
    const batch = store.nextBatch({ maxRecords: 1000, maxBytes: 1e9 });
    const nById = new Map(batch.map((r) => [r.id, r.body['n']]));
    results.forEach((ids, i) => expect(ids.map((id) => nById.get(id))).toEqual([i * 2, i * 2 + 1]));
  });

  it('resolves only once the records are durable and visible to another connection', async () => {
    const w = writer();
    const other = new Database(join(tempDir(), 'store.db'), { readonly: true });
    try {
      const count = other.prepare<[], number>('SELECT count(*) FROM records').pluck();
      const pending = w.append([telemetry(T0, 1)]);
      expect(count.get()).toBe(0);
      await pending;
      expect(count.get()).toBe(1);
    } finally {
      other.close();
    }
  });

  it('flushes as soon as maxBatchRecords wait, without waiting for the interval', async () => {
    const w = writer({ flushIntervalMs: 60_000, maxBatchRecords: 10 });
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => w.append([telemetry(T0, i)])));
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(commits).toEqual([10]);
    await w.close();
  });

  it('fails only the caller whose record is invalid', async () => {
    const w = writer();
    const good = w.append([telemetry(T0, 1)]);
    const bad = w.append([sized('telemetry', T0, 2, 4096)]);
    const alsoGood = w.append([telemetry(T0, 3)]);
    await expect(bad).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    await expect(good).resolves.toHaveLength(1);
    await expect(alsoGood).resolves.toHaveLength(1);
    expect(store.metrics().appendedTotal).toBe(2);
  });

  it('retries while another process holds the write lock, then commits', async () => {
    const locker = new Database(join(tempDir(), 'store.db'));
    locker.prepare('BEGIN IMMEDIATE').run();
    const w = writer();
    const pending = w.append([telemetry(T0, 1)]);
    await new Promise((r) => setTimeout(r, 150));
    locker.prepare('COMMIT').run();
    locker.close();
    await expect(pending).resolves.toHaveLength(1);
    expect(store.metrics().appendedTotal).toBe(1);
  });

  it('gives up with STORE_BUSY after its retries when the lock is never released', async () => {
    const locker = new Database(join(tempDir(), 'store.db'));
    locker.prepare('BEGIN IMMEDIATE').run();
    try {
      const w = writer({ maxRetries: 2 });
      await expect(w.append([telemetry(T0, 1)])).rejects.toMatchObject({
        code: 'STORE_BUSY',
        retryable: true,
      });
    } finally {
      locker.prepare('ROLLBACK').run();
      locker.close();
    }
  });

  (smallDiskUnavailable() === undefined ? it : it.skip)(
    `commits a batch bigger than the room left on a full disk, in parts and in order${smallDiskUnavailable() === undefined ? '' : ` (skipped: ${smallDiskUnavailable()})`}`,
    async () => {
      const disk = mountSmallDisk(8 * 1024 * 1024);
      const onDisk = SqliteRecordStore.open({
        path: join(disk.path, 'store.db'),
        gatewayId: 'gw-test',
        onCorrupt: 'quarantine',
        settings: storeSettingsSchema.parse({ maxRecordBodyBytes: 16 * 1024 }),
      });
      try {
        // Another writer leaves about 1.5 MiB above the store's reserve (5 % of the filesystem).
        const filler = openSync(join(disk.path, 'filler'), 'w');
        const chunk = Buffer.alloc(64 * 1024, 1);
        const free = (): number => {
          const fs = statfsSync(disk.path);
          return fs.bavail * fs.bsize;
        };
        while (free() > 1.9 * 1024 * 1024) writeSync(filler, chunk);
        closeSync(filler);
        const sizes: number[] = [];
        const w = new GroupCommitWriter(onDisk, {
          flushIntervalMs: 10_000,
          maxBatchRecords: 10_000,
          maxRetries: 10,
          retryBaseMs: 5,
          retryMaxMs: 50,
          clock: systemClock,
          onCommit: (c) => sizes.push(c.records.length),
        });
        // 400 callers of one 8 KB reading each, about 3.2 MB: one batch that cannot fit at once.
        const calls = Array.from({ length: 400 }, (_, i) => w.append([sized('telemetry', T0 + i, i, 8_000)]));
        await w.flush();
        const ids = await Promise.all(calls);
        expect(ids.every((x) => x.length === 1)).toBe(true);
        const seqs = ids.map((x) => Number(x[0]?.split(':').at(-1)));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(sizes.length).toBeGreaterThan(1);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(400);
        const m = onDisk.metrics();
        expect(m.appendedTotal).toBe(400);
        expect(m.diskBound).toBe(true);
        expect(m.evictedRecordsTotal).toBeGreaterThan(0);
      } finally {
        onDisk.close();
        disk.unmount();
      }
    },
  );

  it('commits what waits on close and refuses appends afterwards', async () => {
    const w = writer({ flushIntervalMs: 60_000 });
    const pending = w.append([telemetry(T0, 1)]);
    await w.close();
    await expect(pending).resolves.toHaveLength(1);
    await expect(w.append([telemetry(T0, 2)])).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
