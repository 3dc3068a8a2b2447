import {
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { isDrError } from '../../shared/src/errors';
import Database from 'better-sqlite3';
import { ManualClock } from '../../shared/src/clock';
import {
  GAP_MARKER_STREAM,
  SqliteRecordStore,
  storeSettingsSchema,
  type StoreEvent,
} from '../../shared/src/store';
import { collect, spawnTs } from '../support/child';
import { readings, sized } from '../support/records';
import { useTempDir } from '../support/temp-dir';
import { thrownBy } from '../support/thrown';

describe('store corruption', () => {
  const tempDir = useTempDir();

  function openOwner(path: string, events: StoreEvent[]): SqliteRecordStore {
    return SqliteRecordStore.open({
      path,
      gatewayId: 'gw-test',
      onCorrupt: 'quarantine',
      onEvent: (e) => events.push(e),
    });
  }

  function quarantined(dir: string): string[] {
    return readdirSync(dir).filter((f) => f.startsWith('store.db.corrupt-') && !f.endsWith('-wal'));
  }

  it('moves a garbage file aside, keeps it intact, and starts a fresh working store', () => {
    const path = join(tempDir(), 'store.db');
    const garbage = Buffer.from('this was never a database\n'.repeat(200));
    writeFileSync(path, garbage);
    const events: StoreEvent[] = [];
    const store = openOwner(path, events);
    try {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'recreated', code: 'STORE_RECREATED', path });
      expect(events[0]?.type === 'recreated' ? events[0].reason : '').toMatch(/header/);
      const [moved] = quarantined(tempDir());
      expect(moved).toBeDefined();
      expect(readFileSync(join(tempDir(), moved ?? '')).equals(garbage)).toBe(true);
      const ids = store.append([sized('telemetry', 1, 1, 100)]).ids;
      // The fresh store starts with a gap marker naming the loss, then holds what is appended.
      const [marker, ...rest] = store.nextBatch({ maxRecords: 5, maxBytes: 1e6 });
      expect(marker).toMatchObject({
        stream: GAP_MARKER_STREAM,
        lane: 'alert',
        body: { kind: 'gap', reason: 'store_damaged' },
      });
      expect(rest.map((r) => r.id)).toEqual(ids);
    } finally {
      store.close();
    }
  });

  it('quarantines a truncated database and reports it', () => {
    const path = join(tempDir(), 'store.db');
    const first = openOwner(path, []);
    const oldEpoch = first.epoch;
    for (let i = 0; i < 20; i++)
      first.append(Array.from({ length: 200 }, (_, j) => sized('telemetry', i, j, 400)));
    first.close(); // checkpoints the WAL into the main file
    expect(existsSync(`${path}-wal`)).toBe(false);
    truncateSync(path, Math.floor(statSync(path).size / 2));

    const events: StoreEvent[] = [];
    const store = openOwner(path, events);
    try {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'recreated', code: 'STORE_RECREATED' });
      expect(quarantined(tempDir())).toHaveLength(1);
      // A new epoch: ids of the fresh store never repeat those of the lost one.
      expect(store.epoch).not.toBe(oldEpoch);
      expect(store.metrics().lanes.telemetry.depth).toBe(0);
    } finally {
      store.close();
    }
  });

  it('lets a non-owner fail with STORE_CORRUPT instead of moving the file', () => {
    const path = join(tempDir(), 'store.db');
    writeFileSync(path, Buffer.alloc(8192, 0xab));
    try {
      SqliteRecordStore.open({ path, gatewayId: 'gw-test' }).close();
      throw new Error('opened a corrupt store');
    } catch (err) {
      expect(isDrError(err, 'STORE_CORRUPT')).toBe(true);
    }
    expect(quarantined(tempDir())).toHaveLength(0);
  });

  it('quarantines crash-safely: a crash after the WAL was moved aside loses neither file', async () => {
    const path = join(tempDir(), 'store.db');
    openOwner(path, []).close();
    // A writer killed mid-stream leaves committed records in the WAL only.
    const child = spawnTs('test/support/store-worker.ts', ['append', path, 'w', '1000000'], {
      STORE_SETTINGS: JSON.stringify({ walAutocheckpointPages: 0 }),
    });
    let batches = 0;
    await collect(child, () => {
      batches += 1;
      if (batches === 20) child.kill('SIGKILL');
    });
    const target = join(tempDir(), readlinkSync(path));
    const wal = readFileSync(`${target}-wal`);
    expect(wal.length).toBeGreaterThan(0);
    // The data file is damaged, and quarantine is interrupted after its first step (the WAL moved).
    const fd = openSync(target, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    closeSync(fd);
    const epoch = target.slice(path.length + 1);
    renameSync(`${target}-wal`, `${path}.corrupt-${epoch}-wal`);

    const events: StoreEvent[] = [];
    const store = openOwner(path, events);
    try {
      expect(events[0]).toMatchObject({ type: 'recreated', cause: 'damaged', lostEpoch: epoch });
      // Both halves sit side by side under one name, byte for byte; the fresh store is another file.
      expect(readFileSync(`${path}.corrupt-${epoch}-wal`).equals(wal)).toBe(true);
      expect(existsSync(`${path}.corrupt-${epoch}`)).toBe(true);
      expect(store.epoch).not.toBe(epoch);
      expect(readlinkSync(path)).toBe(`store.db.${store.epoch}`);
    } finally {
      store.close();
    }
  }, 60_000);

  it('tells an open handle that its data file was replaced, and the owner ends that epoch with a gap marker', () => {
    const path = join(tempDir(), 'store.db');
    const owner = openOwner(path, []);
    const reader = SqliteRecordStore.open({ path, gatewayId: 'gw-test' });
    try {
      owner.append(Array.from({ length: 30 }, (_, i) => sized('telemetry', 1_000 + i, i, 100)));
      const lostEpoch = owner.epoch;
      expect(reader.fileReplaced()).toBe(false);
      // The data file is copied and the copy moved over it (what `cp` and `mv` of a backup do).
      const target = join(tempDir(), readlinkSync(path));
      copyFileSync(target, `${target}.copy`);
      renameSync(`${target}.copy`, target);
      const copy = readFileSync(target);
      expect(reader.fileReplaced()).toBe(true);
      // Nothing more is written to the replaced file by anyone who had it open.
      expect(thrownBy(() => reader.append([sized('telemetry', 1, 1, 10)]))).toMatchObject({
        code: 'STORE_REPLACED',
      });
      expect(thrownBy(() => owner.maintain())).toMatchObject({ code: 'STORE_REPLACED', retryable: true });
      const account = owner.undeliveredAccount();
      expect(account).toMatchObject({ epoch: lostEpoch, records: 30 });
      owner.close();

      const events: StoreEvent[] = [];
      const fresh = SqliteRecordStore.open({
        path,
        gatewayId: 'gw-test',
        onCorrupt: 'quarantine',
        onEvent: (e) => events.push(e),
        lostEpoch: account,
      });
      try {
        expect(fresh.epoch).not.toBe(lostEpoch);
        expect(events[0]).toMatchObject({
          type: 'recreated',
          code: 'STORE_RECREATED',
          cause: 'replaced',
          lostEpoch,
          lostRecords: 30,
        });
        const [marker] = fresh.nextBatch({ maxRecords: 10, maxBytes: 1e6 });
        expect(marker?.body).toMatchObject({
          kind: 'gap',
          reason: 'store_lost',
          lostEpoch,
          evictedRecords: 30,
          streams: { 'telemetry:pump/vibration': { records: 30, fromTsMs: 1_000, toTsMs: 1_029 } },
        });
        // The file put in its place was never opened: set aside, byte for byte.
        const quarantinedTo = events[0]?.type === 'recreated' ? events[0].quarantinedTo : '';
        expect(readFileSync(quarantinedTo).equals(copy)).toBe(true);
      } finally {
        fresh.close();
      }
    } finally {
      reader.close();
      owner.close();
    }
  });

  it.each([
    [
      'replaced by a copy (cp records.db c && mv c records.db)',
      (path: string): void => {
        copyFileSync(path, `${path}.c`);
        renameSync(`${path}.c`, path);
      },
    ],
    ['deleted', (path: string): void => rmSync(path)],
  ])('loses nothing when the store path is %s: the owner restores it', (_, damage) => {
    const path = join(tempDir(), 'store.db');
    const events: StoreEvent[] = [];
    const owner = openOwner(path, events);
    const writer = SqliteRecordStore.open({ path, gatewayId: 'gw-test', create: false });
    try {
      const ids = writer.append(
        Array.from({ length: 20 }, (_, i) => sized('telemetry', 1_000 + i, i, 100)),
      ).ids;
      damage(path);
      // The data file is intact: whoever has it open carries on, and a new follower waits for the owner.
      const more = writer.append([sized('telemetry', 2_000, 99, 100)]).ids;
      owner.maintain();
      expect(events.filter((e) => e.type === 'relinked')).toHaveLength(1);
      expect(lstatSync(path).isSymbolicLink()).toBe(true);
      const follower = SqliteRecordStore.open({ path, gatewayId: 'gw-test', create: false });
      try {
        expect(follower.epoch).toBe(owner.epoch);
        expect(follower.nextBatch({ maxRecords: 100, maxBytes: 1e9 }).map((r) => r.id)).toEqual([
          ...ids,
          ...more,
        ]);
      } finally {
        follower.close();
      }
    } finally {
      writer.close();
      owner.close();
    }
  });

  it('drops a block that fails its checksum, names it in a gap marker, and keeps the rest', () => {
    const path = join(tempDir(), 'store.db');
    const events: StoreEvent[] = [];
    const clock = new ManualClock(1_800_000_000_000);
    const store = SqliteRecordStore.open({
      path,
      gatewayId: 'gw-test',
      onCorrupt: 'quarantine',
      clock,
      onEvent: (e) => events.push(e),
      settings: storeSettingsSchema.parse({ compaction: { minBlockRecords: 100, maxBlockBytes: 4096 } }),
    });
    try {
      store.append(readings(3_000, clock.nowMs() - 7_200_000));
      for (let i = 0; i < 100 && store.maintain().more; i++);
      const before = store.metrics();
      expect(before.blocks).toBeGreaterThan(2);
      // Bit rot in one block's payload, written behind the store's back.
      const raw = new Database(path);
      const { id, payload } = raw
        .prepare<[], { id: number; payload: Buffer }>(
          'SELECT id, payload FROM block_data ORDER BY id LIMIT 1 OFFSET 1',
        )
        .get() ?? { id: 0, payload: Buffer.alloc(0) };
      const damaged = Buffer.from(payload);
      damaged[damaged.length - 20] = (damaged[damaged.length - 20] ?? 0) ^ 0xff;
      raw.prepare('UPDATE block_data SET payload = ? WHERE id = ?').run(damaged, id);
      raw.close();
      for (let i = 0; i < 10; i++) store.maintain();
      const hit = events.find((e) => e.type === 'block-damaged');
      expect(hit).toMatchObject({ type: 'block-damaged', blockId: id });
      const lost = hit?.type === 'block-damaged' ? hit.records : 0;
      expect(lost).toBeGreaterThan(0);
      const after = store.metrics();
      expect(after.blocks).toBe(before.blocks - 1);
      expect(after.lanes.telemetry.depth).toBe(3_000 - lost);
      const all = store.nextBatch({ maxRecords: 10_000, maxBytes: 1e12 });
      const marker = all.find((r) => r.stream === GAP_MARKER_STREAM);
      expect(marker?.body).toMatchObject({ kind: 'gap', reason: 'damaged', evictedRecords: lost });
      expect(all.filter((r) => r.lane === 'telemetry')).toHaveLength(3_000 - lost);
    } finally {
      store.close();
    }
  });

  it('never lets a process other than the owner create or repair the store', () => {
    const path = join(tempDir(), 'store.db');
    expect(
      thrownBy(() => SqliteRecordStore.open({ path, gatewayId: 'gw-test', create: false })),
    ).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
    });
    expect(existsSync(path)).toBe(false);
    const owner = openOwner(path, []);
    const target = join(tempDir(), readlinkSync(path));
    owner.close();
    rmSync(target);
    expect(thrownBy(() => SqliteRecordStore.open({ path, gatewayId: 'gw-test' }))).toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
  });
});
