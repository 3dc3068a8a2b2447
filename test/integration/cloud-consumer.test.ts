import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { consumeBatch, type ConsumerDeps } from '../../cloud/consumer/core';
import { MemoryIdempotencyStore } from '../../cloud/consumer/memory-idempotency';
import { eventually } from '../support/ipc';
import { CollectingSink } from '../support/cloud-consumer';
import { telemetry } from '../support/records';
import { arrivals, regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(180_000);

describe('cloud consumer on the envelopes Replay really sends', () => {
  let load: NodeJS.Timeout | undefined;
  afterEach(() => clearInterval(load));
  const ctx = useReplayRig('ggdr-cloud-consumer-');

  it('across a failover (resends carry the same ids to the other region) every record reaches the sink exactly once; resends are duplicates', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway(
      {
        regions: [regionEntry(a, 0), regionEntry(b, 1)],
        batching: { maxEnvelopeBytes: 16_384, maxInFlight: 8 },
      },
      { store: { maxRecordBodyBytes: 8_192 } },
    );
    // A sensor load on the store, so that batches are in flight whenever region-a stops answering.
    const ids: string[] = [];
    let n = 0;
    load = setInterval(() => {
      const batch = Array.from({ length: 200 }, () => telemetry(Date.now(), n, `pump/s${n++ % 4}`));
      ids.push(...rig.store.append(batch).ids);
    }, 50);
    await eventually(() => cloudA.batches.length >= 5, 20_000, 'batches in region-a');
    a.pause(); // a black hole with batches in flight: they are resent to region-b with the same ids
    await eventually(() => cloudB.batches.length >= 5, 30_000, 'failover to region-b');
    a.resume();
    clearInterval(load);
    await eventually(() => arrivals([cloudA, cloudB]).size === ids.length, 90_000, 'every record delivered');
    await eventually(() => rig.store.metrics().lanes.telemetry.depth === 0, 20_000, 'the store drained');

    // The raw payloads as the regions received them, in arrival order: what each region's rule hands
    // its consumer. One idempotency table for both regions (a global table, or where their data meet).
    const received = [cloudA, cloudB]
      .flatMap((c) =>
        c.messages
          .filter((m) => m.topic === `edgedr/${THING}/batches`)
          .map((m) => ({ region: c.region, payload: m.payload, atMs: m.atMs })),
      )
      .sort((x, y) => x.atMs - y.atMs);
    const arrivalsTotal = [...arrivals([cloudA, cloudB]).values()].reduce((s, n) => s + n, 0);
    const sink = new CollectingSink();
    const deps: ConsumerDeps = {
      sink,
      deadLetters: sink,
      idempotency: new MemoryIdempotencyStore(),
      nowMs: () => Date.now(),
      claimLeaseMs: 60_000,
    };
    let stored = 0;
    let duplicates = 0;
    for (const m of received) {
      const outcome = await consumeBatch(
        m.payload,
        { thing: THING, region: m.region, receivedAtMs: m.atMs },
        deps,
      );
      if (outcome.kind !== 'stored') throw new Error(`dead letter: ${outcome.reason}`);
      stored += outcome.stored;
      duplicates += outcome.duplicates;
    }
    expect(stored).toBe(ids.length);
    expect(duplicates).toBe(arrivalsTotal - ids.length);
    expect(sink.records.map((r) => r.id).sort()).toEqual([...ids].sort());
    // A redelivery of everything (a rule retried, a consumer restarted) adds nothing.
    for (const m of received.slice(0, 5)) {
      const again = await consumeBatch(
        m.payload,
        { thing: THING, region: m.region, receivedAtMs: m.atMs },
        deps,
      );
      expect(again).toMatchObject({ kind: 'stored', stored: 0 });
    }
    expect(sink.records).toHaveLength(ids.length);
    expect(sink.deadLetters).toHaveLength(0);
  });
});
