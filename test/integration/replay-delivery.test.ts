import Database from 'better-sqlite3';
import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { alert, readings, telemetry } from '../support/records';
import { presenceSchema, shadowUpdateSchema } from '../../shared/src/messages/cloud';
import { eventually } from '../support/ipc';
import { arrivals, regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(120_000);

describe('Replay: normal delivery to the primary region', () => {
  const ctx = useReplayRig('ggdr-replay-');

  it('delivers every stored record to the primary exactly once, decodable, in order per stream', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway({ regions: [regionEntry(a, 0), regionEntry(b, 1)] });

    const now = Date.now();
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      const batch = Array.from({ length: 500 }, (_, i) => {
        const n = round * 500 + i;
        return n % 100 === 0 ? alert(now, n) : telemetry(now - 3_600_000 + n, n, `pump/s${n % 3}`);
      });
      ids.push(...rig.store.append(batch).ids);
    }
    await eventually(() => arrivals([cloudA]).size === ids.length, 60_000, 'every record in region-a');

    const counts = arrivals([cloudA, cloudB]);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set(ids));
    expect(cloudB.batches).toHaveLength(0);
    expect(cloudA.undecodable).toEqual([]);

    // In order per stream: ids within a stream arrive with rising sequence numbers.
    const lastSeq = new Map<string, number>();
    for (const r of cloudA.records()) {
      const seq = Number(r.id.split(':').at(-1));
      expect(seq).toBeGreaterThan(lastSeq.get(r.stream) ?? 0);
      lastSeq.set(r.stream, seq);
    }
    // Alerts drain first.
    const firstBatch = cloudA.batches[0];
    expect(firstBatch?.records[0]?.lane).toBe('alert');
    // The user properties repeat the header's batch id and encoding; envelopes stay under the limit.
    for (const batch of cloudA.batches) {
      expect(batch.userProperties['batchId']).toBe(batch.header.batchId);
      expect(batch.userProperties['encoding']).toBe(batch.header.encoding);
      expect(batch.header.gatewayId).toBe(THING);
      expect(batch.payloadBytes).toBeLessThan(128 * 1024);
    }
    await eventually(() => rig.store.metrics().lanes.telemetry.depth === 0, 10_000, 'store drained');
    expect(rig.store.metrics().lanes.alert.depth).toBe(0);

    // Presence: retained online in both regions (connected, warm), the DR shadow in the active one; both
    // in the shared formats (shared/src/messages/cloud.ts).
    const presence = (c: RegionConsumer) =>
      c.json(`edgedr/${THING}/presence`).map((m) => presenceSchema.parse(m).state);
    await eventually(
      () => presence(cloudA).includes('online') && presence(cloudB).includes('online'),
      10_000,
      'online presence in both regions',
    );
    await eventually(
      () =>
        cloudA
          .json(`$aws/things/${THING}/shadow/name/edgedr-dr/update`)
          .some((m) => shadowUpdateSchema.parse(m).state.reported.activeRegion === 'region-a'),
      10_000,
      'shadow reported in region-a',
    );
  });

  it('sends a compacted block upstream byte for byte as the Buffer stored it', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }]);
    const [a] = regions as [LocalRegion];
    const [cloudA] = consumers as [RegionConsumer];
    // The region unreachable until the backlog is in blocks.
    a.pause();
    const rig = await ctx.gateway(
      { regions: [regionEntry(a, 0)] },
      {
        maintenanceIntervalMs: 200,
        store: { compaction: { minBlockRecords: 200, maxBlockBytes: 4 * 1024, maxWaitMs: 0 } },
      },
    );
    const now = Date.now();
    // Readings at the sensors' resolution: several blocks' worth.
    const ids = rig.store.append(readings(6_000, now - 7_200_000)).ids;
    await eventually(() => rig.store.metrics().recordsInBlocks === ids.length, 30_000, 'backlog in blocks');
    const db = new Database(rig.storePath, { readonly: true, fileMustExist: true });
    const stored = db.prepare<[], { payload: Buffer }>('SELECT payload FROM block_data').all();
    db.close();
    expect(stored.length).toBeGreaterThan(3);
    a.resume();
    await eventually(() => arrivals([cloudA]).size === ids.length, 60_000, 'every record in region-a');
    const sent = cloudA.messages.filter((m) => m.topic.endsWith('/batches')).map((m) => m.payload);
    for (const { payload } of stored) expect(sent.some((p) => p.equals(payload))).toBe(true);
    expect(cloudA.batches.every((b) => b.header.encoding === 'columnar-gzip')).toBe(true);
  });
});
