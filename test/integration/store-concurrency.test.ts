import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteRecordStore, storeSettingsSchema } from '../../shared/src/store';
import { OWNER_AUTOCHECKPOINT_FACTOR } from '../../shared/src/store/quota';
import { collect, spawnTs } from '../support/child';
import { useTempDir } from '../support/temp-dir';

const MiB = 1024 * 1024;

describe('store under concurrent processes', () => {
  const tempDir = useTempDir();

  it('loses nothing, never redelivers after ack, and lets no SQLITE_BUSY escape', async () => {
    const dbPath = join(tempDir(), 'store.db');
    // A tight quota so that evictions (with gap markers) run while the others append and read.
    const settings = { maxStoreBytes: 2 * MiB, evictToRatio: 0.8, busyTimeoutMs: 10_000 };
    const env = { STORE_SETTINGS: JSON.stringify(settings) };
    SqliteRecordStore.open({
      path: dbPath,
      gatewayId: 'gw-test',
      settings: storeSettingsSchema.parse(settings),
    }).close();

    const appended = new Set<number>();
    const acked: number[] = [];
    let evictedPerMarkers = 0;
    let evictedInFlight = 0;
    let markersDelivered = 0;
    const errors: string[] = [];
    const onLine = (line: string): void => {
      const [tag, a, b] = line.split(' ');
      if (tag === 'A') for (let s = Number(a); s <= Number(b); s++) appended.add(s);
      else if (tag === 'K') acked.push(Number(a));
      else if (tag === 'G') {
        evictedPerMarkers += Number(a);
        markersDelivered += 1;
      } else if (tag === 'X') evictedInFlight += 1;
      else errors.push(line);
    };

    const appenders = ['w1', 'w2', 'w3'].map((name) =>
      collect(spawnTs('test/support/store-worker.ts', ['append', dbPath, name, '400'], env), onLine),
    );
    const reader = collect(spawnTs('test/support/store-worker.ts', ['read', dbPath, 'r'], env), onLine);
    const maintainer = collect(
      spawnTs('test/support/store-worker.ts', ['maintain', dbPath, 'm'], env),
      onLine,
    );

    const appendResults = await Promise.all(appenders);
    writeFileSync(`${dbPath}.done`, '');
    const [readResult, maintainResult] = await Promise.all([reader, maintainer]);

    for (const r of [...appendResults, readResult, maintainResult]) {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    }
    expect(errors).toEqual([]);

    const store = SqliteRecordStore.open({ path: dbPath, gatewayId: 'gw-test', integrityCheck: true });
    try {
      const m = store.metrics();
      // The reader drained everything.
      expect(m.lanes.telemetry.depth + m.lanes.alert.depth).toBe(0);
      // Each acknowledged record was appended and acknowledged once.
      expect(new Set(acked).size).toBe(acked.length);
      for (const seq of acked) expect(appended.has(seq)).toBe(true);
      // Every appended record was either delivered or named by a gap marker.
      expect(m.evictionRoundsTotal).toBeGreaterThan(0);
      expect(evictedPerMarkers).toBe(m.evictedRecordsTotal);
      expect(acked.length + evictedPerMarkers).toBe(appended.size);
      expect(m.appendedTotal).toBe(appended.size);
      expect(m.acknowledgedTotal).toBe(acked.length + markersDelivered);
      // In-flight evictions are possible but rare; they are named by markers, never silent.
      expect(evictedInFlight).toBeLessThan(appended.size / 10);
    } finally {
      store.close();
    }
  }, 180_000);

  it("leaves checkpoints to the owner's maintenance, so a follower's commit does not run one", () => {
    const path = join(tempDir(), 'store.db');
    const settings = storeSettingsSchema.parse({});
    const owner = SqliteRecordStore.open({ path, gatewayId: 'gw-test', settings, onCorrupt: 'quarantine' });
    const follower = SqliteRecordStore.open({ path, gatewayId: 'gw-test', settings, create: false });
    try {
      follower.append(
        Array.from({ length: 500 }, (_, i) => ({
          stream: 'telemetry',
          lane: 'telemetry' as const,
          deviceId: 'pump-1',
          tsMs: 1_800_000_000_000 + i,
          body: { n: i, pad: 'x'.repeat(400) },
        })),
      );
      const report = owner.maintain();
      expect(report.walFrames).toBeGreaterThan(0);
      expect(report.checkpointedFrames).toBe(report.walFrames);
      // A commit that crosses the automatic threshold runs the checkpoint before COMMIT returns. The
      // followers keep the configured threshold (their fallback when the owner is away); the owner's
      // own lies beyond it, since it checkpoints at the end of every round.
      expect(follower.pragmas()['wal_autocheckpoint']).toBe(settings.walAutocheckpointPages);
      const own = Number(owner.pragmas()['wal_autocheckpoint']);
      expect(own).toBeGreaterThan(settings.walAutocheckpointPages);
      expect(own).toBeLessThanOrEqual(settings.walAutocheckpointPages * OWNER_AUTOCHECKPOINT_FACTOR);
    } finally {
      follower.close();
      owner.close();
    }
  });
});
