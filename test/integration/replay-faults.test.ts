import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { eventually } from '../support/ipc';
import { documents } from '../support/launch';
import { telemetry } from '../support/records';
import { arrivals, regionEntry, THING, type ReplayGateway, useReplayRig } from '../support/replay';

jest.setTimeout(180_000);

interface RegionStatus {
  status: string;
  reason: string | null;
}

function lastStatus(rig: ReplayGateway): Record<string, unknown> | undefined {
  return documents(rig.gw, 'edgedr/replay/status').at(-1);
}

function regionHealth(rig: ReplayGateway): Record<string, RegionStatus> {
  return (lastStatus(rig)?.['regionHealth'] ?? {}) as Record<string, RegionStatus>;
}

describe('Replay: broken regions and a crashing Replay', () => {
  const ctx = useReplayRig('ggdr-replay-faults-');

  it('marks wrong-CA, expired-certificate and ACL-denied (0x87) regions unhealthy with their reasons and uses the good one', async () => {
    const { regions, consumers } = await ctx.regions([
      // Denied: may announce presence and answer probes, but not publish batches.
      {
        name: 'denied',
        replayTopics: [`edgedr/${THING}/presence`, `edgedr/${THING}/probe`, `edgedr/${THING}/commands`],
      },
      { name: 'bad-ca' },
      { name: 'expired', expired: true },
      { name: 'good' },
    ]);
    const [denied, badCa, expired, good] = regions as [LocalRegion, LocalRegion, LocalRegion, LocalRegion];
    const rig = await ctx.gateway({
      regions: [
        regionEntry(denied, 0),
        // The CA of another region: the server's certificate is not trusted.
        regionEntry(badCa, 1, { caPath: good.pki.caCert }),
        regionEntry(expired, 2),
        regionEntry(good, 3),
      ],
    });
    const ids = rig.store.append(Array.from({ length: 1_000 }, (_, n) => telemetry(Date.now(), n))).ids;
    const cloudGood = consumers[3] as RegionConsumer;
    await eventually(
      () => arrivals([cloudGood]).size === ids.length,
      30_000,
      'every record in the good region',
    );
    await eventually(
      () => {
        const h = regionHealth(rig);
        return ['denied', 'bad-ca', 'expired'].every((n) => h[n]?.status === 'misconfigured');
      },
      20_000,
      'three regions marked misconfigured',
    );
    const h = regionHealth(rig);
    expect(h['denied']?.reason).toMatch(
      new RegExp(`denied: publish to edgedr/${THING}/batches refused: not authorized \\(0x87\\)`),
    );
    expect(h['bad-ca']?.reason).toMatch(
      /bad-ca: the server's certificate is not trusted by caPath .*good-ca\.pem/,
    );
    expect(h['expired']?.reason).toMatch(/expired: certificate .*client-replay\.pem expired on /);
    expect(h['good']?.status).toBe('healthy');
    expect(lastStatus(rig)?.['activeRegion']).toBe('good');
    // Nothing reached the broken regions, and nothing was lost on the way.
    for (const c of consumers.slice(0, 3)) expect(c.batches).toHaveLength(0);
  });

  it('SIGKILL of Replay mid-drain: the restarted Replay resends only what was not acknowledged', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }]);
    const [a] = regions as [LocalRegion];
    const cloud = consumers[0] as RegionConsumer;
    const rig = await ctx.gateway(
      {
        regions: [regionEntry(a, 0, { iotCoreFlowControl: false })],
        batching: { maxEnvelopeBytes: 8_192, maxInFlight: 4 },
      },
      { store: { maxRecordBodyBytes: 4_096 } },
    );
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push(
        ...rig.store.append(Array.from({ length: 1_000 }, (_, n) => telemetry(Date.now(), i * 1_000 + n)))
          .ids,
      );
    await eventually(() => cloud.records().length > 2_000, 30_000, 'drain under way');
    rig.gw.launcher.signal('com.edgedr.Replay', 'SIGKILL');
    const atKill = cloud.records().length;
    // What the killed process had sent reaches the consumer a little later (the consumer may lag on a
    // busy machine); a restarted Replay needs well over a second to send again. Take stock once the
    // stream has been quiet for a moment.
    let seen = -1;
    while (seen !== cloud.batches.length) {
      seen = cloud.batches.length;
      await new Promise((r) => setTimeout(r, 400));
    }
    const batchesAtKill = cloud.batches.length;
    await eventually(() => arrivals([cloud]).size === ids.length, 60_000, 'every record after the restart');
    expect(atKill).toBeLessThan(ids.length);

    const counts = arrivals([cloud]);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    // Only records whose batches were unacknowledged when Replay died come again: at most the in-flight
    // window (4 envelopes), each of which had reached the broker before the kill.
    const beforeKill = new Set(
      cloud.batches.slice(0, batchesAtKill).flatMap((b) => b.records.map((r) => r.id)),
    );
    for (const id of duplicated) expect(beforeKill.has(id)).toBe(true);
    const perEnvelope = Math.max(...cloud.batches.map((b) => b.header.count));
    expect(duplicated.length).toBeLessThanOrEqual(4 * perEnvelope);
    await eventually(() => rig.store.metrics().lanes.telemetry.depth === 0, 10_000, 'store drained');
  });
});
