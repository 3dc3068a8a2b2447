import { readFileSync } from 'node:fs';
import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { eventually } from '../support/ipc';
import { documents } from '../support/launch';
import { alert, telemetry } from '../support/records';
import { arrivals, clientIdsSeen, regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(180_000);

interface LinkStatus {
  connected: boolean;
  deliveredBatches: number;
}

describe('Replay: a backlog drained over several links', () => {
  const ctx = useReplayRig('ggdr-replay-backlog-');

  it('connects drain links with their own client ids while a backlog exists, feeds them from one reader (each record once), keeps alerts and live data first, and disconnects them afterwards', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a', logConnections: true }]);
    const [a] = regions as [LocalRegion];
    const [cloud] = consumers as [RegionConsumer];
    const rig = await ctx.gateway(
      {
        regions: [regionEntry(a, 0, { drainLinks: 2 })],
        batching: { maxEnvelopeBytes: 4_096, maxInFlight: 2, drainLinkIdleMs: 500 },
      },
      { store: { maxRecordBodyBytes: 2_048 } },
    );
    const hourAgo = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(
        ...rig.store.append(
          Array.from({ length: 10_000 }, (_, n) => telemetry(hourAgo + i * 10_000 + n, n, 'pump/history')),
        ).ids,
      );
    await eventually(() => cloud.records().length > 1_000, 30_000, 'the drain under way');
    const urgent = rig.store.append([
      ...Array.from({ length: 10 }, (_, n) => alert(Date.now(), n)),
      ...Array.from({ length: 100 }, (_, n) => telemetry(Date.now(), n, 'pump/live')),
    ]).ids;
    ids.push(...urgent);
    await eventually(() => arrivals([cloud]).size === ids.length, 60_000, 'every record upstream');

    // One reader: no record was leased twice, so none arrived twice.
    expect([...arrivals([cloud]).values()].every((n) => n === 1)).toBe(true);
    // Alerts and live records went before the rest of the backlog.
    const order = cloud.records().map((r) => r.id);
    const lastUrgent = Math.max(...urgent.map((id) => order.indexOf(id)));
    expect(lastUrgent).toBeLessThan(order.length - 1_000);

    // Every link carried a share, each with its own client id.
    const delivered = new Map<string, number>();
    for (const s of documents(rig.gw, 'edgedr/replay/status'))
      for (const [key, l] of Object.entries((s['links'] ?? {}) as Record<string, LinkStatus>))
        delivered.set(key, Math.max(delivered.get(key) ?? 0, l.deliveredBatches));
    for (const key of ['region-a', 'region-a/drain-1', 'region-a/drain-2'])
      expect(delivered.get(key)).toBeGreaterThan(0);
    // Called in once for the whole backlog, not again whenever reads pause.
    const calledIn = readFileSync(rig.gw.launcher.logPath('com.edgedr.Replay'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"connecting a drain link for the backlog"'));
    expect(calledIn).toHaveLength(2);
    // Exactly these client ids (a link may reconnect on a busy machine, with the same id).
    const primary = `${THING}-replay-region-a`;
    const connected = clientIdsSeen(ctx.tempDir(), a).connected.filter((id) => id.startsWith(THING));
    expect([...new Set(connected)].sort()).toEqual([primary, `${primary}-drain-1`, `${primary}-drain-2`]);

    // Once the backlog is gone (and a while after), the drain links leave; the primary stays, online.
    await eventually(
      () => {
        const gone = clientIdsSeen(ctx.tempDir(), a).disconnected;
        return gone.includes(`${primary}-drain-1`) && gone.includes(`${primary}-drain-2`);
      },
      20_000,
      'drain links disconnected',
    );
    expect(clientIdsSeen(ctx.tempDir(), a).disconnected).not.toContain(primary);
    expect(cloud.json(`edgedr/${THING}/presence`).map((m) => m['state'])).toEqual(['online']);
  });
});
