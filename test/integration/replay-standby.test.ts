import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';
import { eventually } from '../support/ipc';
import { telemetry } from '../support/records';
import { regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(120_000);

const PRESENCE = `edgedr/${THING}/presence`;
const states = (c: RegionConsumer): unknown[] => c.json(PRESENCE).map((m) => m['state']);
/** Whether a region has received every record numbered `from` to `from + 9` (copies allowed). */
const hasAll = (c: RegionConsumer, from: number): boolean => {
  const got = new Set(c.records().map((r) => (r.body as { n: number }).n));
  return Array.from({ length: 10 }, (_, i) => from + i).every((n) => got.has(n));
};

describe('Replay: standbys, presence, and deployments', () => {
  const ctx = useReplayRig('ggdr-replay-standby-');

  it('connects a cold standby only while it is needed; the will message says offline when Replay dies', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-c' }]);
    const [a, c] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudC] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway({
      regions: [regionEntry(a, 0), regionEntry(c, 1, { standby: 'cold' })],
    });
    const r = rig;
    await eventually(() => states(cloudA).includes('online'), 10_000, 'online in region-a');
    r.store.append(Array.from({ length: 10 }, (_, n) => telemetry(Date.now(), n)));
    await eventually(() => cloudA.records().length === 10, 10_000, 'records in region-a');
    expect(states(cloudC)).toEqual([]); // never connected

    // A kill can beat the first batch's PUBACK to Replay: that envelope is then given back and sent
    // again, with the same ids, so the standby may receive copies of it beside the new records.
    await a.kill();
    r.store.append(Array.from({ length: 10 }, (_, n) => telemetry(Date.now(), 100 + n)));
    await eventually(() => hasAll(cloudC, 100), 20_000, 'records in the cold standby');
    await eventually(() => states(cloudC).includes('online'), 10_000, 'online in the cold standby');

    // region-a back: fail-back after the hold, and the cold standby disconnects cleanly (offline).
    await a.start();
    await eventually(() => states(cloudC).at(-1) === 'offline', 30_000, 'cold standby disconnected');
    r.store.append(Array.from({ length: 10 }, (_, n) => telemetry(Date.now(), 200 + n)));
    await eventually(() => hasAll(cloudA, 200), 10_000, 'records in region-a again');

    // A Replay that dies without a clean disconnect: the broker publishes its will.
    await eventually(() => states(cloudA).at(-1) === 'online', 10_000, 'online again in region-a');
    r.gw.launcher.signal('com.edgedr.Replay', 'SIGKILL');
    await eventually(() => states(cloudA).includes('offline'), 10_000, 'will message in region-a');
  });

  it('follows a deployment that changes its regions, and refuses one whose files are missing', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway({ regions: [regionEntry(a, 0)] });
    const r = rig;
    r.store.append(Array.from({ length: 10 }, (_, n) => telemetry(Date.now(), n)));
    await eventually(() => cloudA.records().length === 10, 10_000, 'records in region-a');

    const current = (): JsonTree =>
      structuredClone(r.gw.host.component('com.edgedr.Replay')?.configuration ?? {});
    const missing = `${ctx.tempDir()}/no-such.key`;
    const refused = await r.gw.host.deploy('com.edgedr.Replay', {
      ...current(),
      regions: [regionEntry(b, 0, { privateKeyPath: missing })],
    });
    expect(refused).toMatchObject({ status: 'REJECTED' });
    expect(refused.message).toContain(`region region-b: privateKeyPath ${missing} does not exist`);

    const applied = await r.gw.host.deploy('com.edgedr.Replay', {
      ...current(),
      regions: [regionEntry(b, 0)],
    });
    expect(applied.status).toBe('APPLIED');
    await eventually(() => states(cloudB).includes('online'), 20_000, 'connected to region-b');
    r.store.append(Array.from({ length: 10 }, (_, n) => telemetry(Date.now(), 100 + n)));
    await eventually(() => cloudB.records().length === 10, 20_000, 'records in region-b');
    expect(cloudA.records()).toHaveLength(10);
    expect(states(cloudA).at(-1)).toBe('offline'); // left region-a cleanly
  });
});
