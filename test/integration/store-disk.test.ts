import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { isDrError } from '../../shared/src/errors';
import type { NewRecord } from '../../shared/src/record';
import { GAP_MARKER_STREAM, SqliteRecordStore, type StoreEvent } from '../../shared/src/store';
import { RESERVE_FILE_BYTES, reservePath } from '../../shared/src/store/reserve';
import { eventually, type IpcClient } from '../support/ipc';
import { documents, ingestGateway, type LocalGateway } from '../support/launch';
import { useTempDir } from '../support/temp-dir';
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../../dev/small-disk';

const MiB = 1024 * 1024;
const FS_BYTES = 8 * MiB;
const unavailable = smallDiskUnavailable();
const suite = unavailable === undefined ? describe : describe.skip;

/** Readings with incompressible bodies of about `bytes` bytes, so that the disk really fills. */
function bulky(count: number, fromTsMs: number, firstN: number, bytes = 300): NewRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    stream: 'pump/bulk',
    lane: 'telemetry' as const,
    deviceId: `pump-${i % 4}`,
    tsMs: fromTsMs + i,
    body: { n: firstN + i, noise: randomBytes(Math.floor(bytes * 0.75)).toString('base64') },
  }));
}

/**
 * A real small filesystem: a tmpfs of 8 MiB mounted by the test (root only, as in CI). The store keeps
 * its default quota (512 MiB): the disk, not the quota, is the limit.
 */
suite(
  `the store on an ${FS_BYTES / MiB} MiB filesystem${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    let disk: SmallDisk;
    let mountPoint = '';
    beforeEach(() => {
      disk = mountSmallDisk(FS_BYTES);
      mountPoint = disk.path;
    });
    // Declared before the gateway's directory: jest runs afterEach hooks in declaration order.
    afterEach(() => disk.unmount());
    const tempDir = useTempDir('ggdr-disk-');

    it('evicts the oldest telemetry with gap markers when the disk fills, instead of refusing readings', () => {
      const events: StoreEvent[] = [];
      const store = SqliteRecordStore.open({
        path: join(mountPoint, 'records.db'),
        gatewayId: 'gw-test',
        onCorrupt: 'quarantine',
        onEvent: (e) => events.push(e),
      });
      try {
        let n = 0;
        let refusals = 0;
        const t0 = Date.now() - 3_600_000;
        // About 24 MB of readings: three times the filesystem.
        while (n < 80_000) {
          const batch = bulky(500, t0 + n, n);
          try {
            store.append(batch);
            n += batch.length;
          } catch (err) {
            // The disk may fill between two checks: the write is refused as retryable, never lost silently.
            if (!isDrError(err, 'STORE_FULL')) throw err;
            refusals += 1;
            expect(refusals).toBeLessThan(20);
          }
          if (n % 5_000 === 0) store.maintain();
        }
        const m = store.metrics();
        expect(m.diskBound).toBe(true);
        expect(m.effectiveLimitBytes).toBeLessThan(FS_BYTES);
        expect(m.bytesAtRest).toBeLessThanOrEqual(FS_BYTES);
        const fs = statfsSync(mountPoint);
        expect(fs.bavail * fs.bsize).toBeGreaterThan(0);
        // Nothing silent: every reading is held or named by a gap marker that says the disk was full.
        const held = store.nextBatch({ maxRecords: 1_000_000, maxBytes: 1e12 });
        const markers = held.filter((r) => r.stream === GAP_MARKER_STREAM);
        expect(markers.length).toBeGreaterThan(0);
        expect(markers.every((r) => r.body['reason'] === 'disk')).toBe(true);
        const named = markers.reduce(
          (s, r) =>
            s +
            ((r.body['streams'] as Record<string, { records: number }>)['telemetry:pump/bulk']?.records ?? 0),
          0,
        );
        expect(held.filter((r) => r.lane === 'telemetry').length + named).toBe(n);
        expect(m.evictedRecordsTotal).toBeGreaterThan(0);
        expect(events.some((e) => e.type === 'eviction')).toBe(true);
      } finally {
        store.close();
      }
    });

    it('gets out of a full disk with a long WAL: the checkpoint that frees it runs even when eviction cannot', () => {
      const path = join(mountPoint, 'records.db');
      const events: StoreEvent[] = [];
      const store = SqliteRecordStore.open({
        path,
        gatewayId: 'gw-test',
        onCorrupt: 'quarantine',
        onEvent: (e) => events.push(e),
      });
      const reader = new Database(path, { readonly: true });
      const filler = join(mountPoint, 'other-software.log');
      try {
        const t0 = Date.now() - 3_600_000;
        let n = 0;
        const append = (count: number): void => {
          store.append(bulky(count, t0 + n, n));
          n += count;
        };
        for (let i = 0; i < 8; i++) append(250);
        store.maintain();
        expect(statSync(reservePath(path)).size).toBe(RESERVE_FILE_BYTES);
        // A reader that holds its snapshot (a slow drain) keeps the WAL from wrapping: it grows.
        reader.prepare('BEGIN').run();
        reader.prepare('SELECT count(*) FROM records').get();
        for (let i = 0; i < 8; i++) append(250);
        // Other software on the gateway takes the rest of the disk.
        const fd = openSync(filler, 'w');
        const chunk = Buffer.alloc(64 * 1024, 1);
        try {
          for (;;) writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        } finally {
          closeSync(fd);
        }
        for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
          const fd2 = openSync(filler, 'a');
          try {
            for (;;) writeSync(fd2, Buffer.alloc(size, 1));
          } catch {
            // full at this granularity
          } finally {
            closeSync(fd2);
          }
        }
        reader.prepare('COMMIT').run();
        expect(store.metrics().walBytes).toBeGreaterThan(256 * 1024);
        // Nothing is freed from outside: the store makes its own room, with gap markers, and goes on.
        for (let round = 0; round < 20; round++) {
          store.maintain();
          try {
            append(50);
          } catch (err) {
            if (!isDrError(err, 'STORE_FULL')) throw err;
          }
        }
        const before = n;
        append(50);
        expect(n).toBe(before + 50);
        expect(store.metrics().evictedRecordsTotal).toBeGreaterThan(0);
        // The reserve file gave the checkpoint its room, once, and said so.
        expect(events.filter((e) => e.type === 'reserve-released')).toEqual([
          { type: 'reserve-released', path: reservePath(path), bytes: RESERVE_FILE_BYTES },
        ]);
        expect(existsSync(reservePath(path))).toBe(false);
        // Once the disk has room again, it is written again.
        unlinkSync(filler);
        store.maintain();
        expect(statSync(reservePath(path)).size).toBe(RESERVE_FILE_BYTES);
      } finally {
        reader.close();
        store.close();
        if (existsSync(filler)) unlinkSync(filler);
      }
    });

    describe('with the suite running', () => {
      let gw: LocalGateway | undefined;
      let sensor: IpcClient | undefined;
      afterEach(async () => {
        await sensor?.close();
        await gw?.close();
      });

      it('Ingest drops no reading when the store fills the disk', async () => {
        const storePath = join(mountPoint, 'records.db');
        ({ gw, sensor } = await ingestGateway(tempDir(), { metricsIntervalMs: 200 }, ['sensors/*'], {
          storePath,
          maintenanceIntervalMs: 200,
          metricsIntervalMs: 200,
        }));
        const client = sensor;
        const g = gw;
        const sent = 12_000;
        const t0 = Date.now() - 600_000;
        for (let n = 0; n < sent; n += 100) {
          await Promise.all(
            Array.from({ length: 100 }, (_, i) =>
              client.publishToTopic({
                topic: 'sensors/pump-1/bulk',
                publishMessage: {
                  jsonMessage: {
                    message: { ts: t0 + n + i, n: n + i, noise: randomBytes(600).toString('base64') },
                  },
                },
              }),
            ),
          );
        }
        const ingest = (): Record<string, unknown> | undefined =>
          documents(g, 'edgedr/ingest/metrics').at(-1);
        await eventually(() => ingest()?.['accepted'] === sent, 60_000, 'every reading committed').catch(
          (err: unknown) => {
            const last = documents(g, 'edgedr/buffer/metrics').at(-1);
            throw new Error(
              `${String(err)}; ingest ${JSON.stringify(ingest())}; buffer ${JSON.stringify(last)}; ingest log ${readFileSync(g.launcher.logPath('com.edgedr.Ingest'), 'utf8').slice(-3000)}; buffer log ${readFileSync(g.launcher.logPath('com.edgedr.Buffer'), 'utf8').slice(-3000)}`,
            );
          },
        );
        expect(ingest()).toMatchObject({ storeFailures: 0, rejected: {} });
        const buffer = documents(g, 'edgedr/buffer/metrics').at(-1);
        expect(buffer?.['diskBound']).toBe(true);
        expect(Number(buffer?.['evictedRecordsTotal'])).toBeGreaterThan(0);
      }, 120_000);
    });
  },
);
