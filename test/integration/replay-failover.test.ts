import { readFileSync } from 'node:fs';
import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import type { NewRecord } from '../../shared/src/record';
import { eventually } from '../support/ipc';
import { documents } from '../support/launch';
import { telemetry } from '../support/records';
import { arrivals, regionEntry, type ReplayGateway, useReplayRig } from '../support/replay';

jest.setTimeout(180_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Replay's log lines (pino JSON) from the launcher's log file. */
function replayLog(rig: ReplayGateway): Record<string, unknown>[] {
  return readFileSync(rig.gw.launcher.logPath('com.edgedr.Replay'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Replay's region and switch lines, for failure messages. */
function regionLines(log: readonly Record<string, unknown>[]): string {
  return log
    .filter((l) => /region/.test(String(l['msg'])))
    .map(
      (l) =>
        `${String(l['time'])} ${String(l['msg'])} ${JSON.stringify({ ...l, time: undefined, msg: undefined, level: undefined, component: undefined, version: undefined, thing: undefined })}`,
    )
    .join('\n');
}

/** Appends `perTick` records every `everyMs` until stopped: a sensor load on the store. */
function produce(rig: ReplayGateway, perTick: number, everyMs: number, make: (n: number) => NewRecord) {
  const ids: string[] = [];
  let n = 0;
  const timer = setInterval(() => {
    const batch = Array.from({ length: perTick }, () => make(n++));
    ids.push(...rig.store.append(batch).ids);
  }, everyMs);
  return {
    ids,
    stop: () => clearInterval(timer),
  };
}

describe('Replay: failover and fail-back between real regions', () => {
  let stopLoad: (() => void) | undefined;
  afterEach(() => stopLoad?.());
  const ctx = useReplayRig('ggdr-failover-');

  async function twoRegions() {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const rig = await ctx.gateway(
      {
        regions: [regionEntry(a, 0), regionEntry(b, 1)],
        batching: { maxEnvelopeBytes: 16_384, maxInFlight: 8 },
      },
      { store: { maxRecordBodyBytes: 8_192 } },
    );
    return { a, b, cloudA: consumers[0] as RegionConsumer, cloudB: consumers[1] as RegionConsumer, rig };
  }

  it('SIGSTOP of the active region under load: fails over, loses nothing, duplicates only from hedged envelopes, bounded and counted; fails back after the hold', async () => {
    const { a, cloudA, cloudB, rig: r } = await twoRegions();
    const load = produce(r, 100, 50, (n) => telemetry(Date.now(), n, `pump/s${n % 4}`));
    stopLoad = load.stop;
    await eventually(() => cloudA.batches.length >= 5, 20_000, 'traffic in region-a');

    const stoppedAt = Date.now();
    a.pause();
    await eventually(() => cloudB.batches.length > 0, 15_000, 'failover to region-b');
    const failoverMs = cloudB.batches[0]!.atMs - stoppedAt;
    expect(failoverMs).toBeLessThan(10_000); // the figure itself is measured by the benchmark

    await sleep(1_500);
    const resumedAt = Date.now();
    a.resume();
    // Fail-back: region-a receives fresh batches again, no sooner than the hold after it is healthy.
    const batchesInA = cloudA.batches.length;
    await eventually(
      () => cloudA.batches.slice(batchesInA).some((b) => b.atMs - resumedAt >= 2_000),
      30_000,
      'fail-back to region-a',
    );
    load.stop();
    await eventually(
      () => new Set(arrivals([cloudA, cloudB]).keys()).size === new Set(load.ids).size,
      60_000,
      'every record delivered',
    );
    const counts = arrivals([cloudA, cloudB]);
    for (const id of load.ids) expect(counts.get(id)).toBeGreaterThanOrEqual(1);
    expect(counts.size).toBe(load.ids.length);

    // Duplicates carry the same id and body, and come only from envelopes hedged (or resent) to
    // region-b while in flight to region-a when it stopped: the same envelope, with the same batch id,
    // in both regions; region-a delivered its copy late (after SIGCONT).
    const copies = new Map<string, { body: string; batchId: string }[]>();
    for (const c of [cloudA, cloudB])
      for (const b of c.batches)
        for (const rec of b.records)
          copies.set(rec.id, [
            ...(copies.get(rec.id) ?? []),
            { body: JSON.stringify(rec), batchId: b.header.batchId },
          ]);
    const duplicated = [...copies].filter(([, v]) => v.length > 1);
    for (const [, versions] of duplicated) {
      expect(new Set(versions.map((v) => v.body)).size).toBe(1);
      expect(new Set(versions.map((v) => v.batchId)).size).toBe(1);
    }
    const lateInA = new Set(
      cloudA.batches.filter((b) => b.atMs >= resumedAt).flatMap((b) => b.records.map((rec) => rec.id)),
    );
    for (const [id] of duplicated) expect(lateInA.has(id)).toBe(true);
    // Bounded: at most region-a's in-flight window (8 envelopes of 16 KiB) went to both regions.
    const duplicatedEnvelopes = new Set(duplicated.map(([, v]) => v[0]?.batchId));
    expect(duplicatedEnvelopes.size).toBeLessThanOrEqual(8);
    // Replay counted what it sent twice.
    const hedging = documents(r.gw, 'edgedr/replay/status').at(-1)?.['hedging'] as Record<string, number>;
    expect(hedging['hedgedEnvelopes']! + hedging['failoverEnvelopes']!).toBeGreaterThanOrEqual(
      duplicatedEnvelopes.size,
    );

    const log = replayLog(r);
    const failover = log.find((l) => l['msg'] === 'region switch: failover');
    if (failover === undefined) throw new Error(`no failover in the log:\n${regionLines(log)}`);
    expect(failover).toMatchObject({ from: 'region-a', to: 'region-b' });
    expect(String(failover?.['reason'])).toContain('region-a');
    expect(log.some((l) => l['msg'] === 'region switch: failback' && l['to'] === 'region-a')).toBe(true);
    expect(log.some((l) => l['msg'] === 'region switch complete: first PUBACK from the new region')).toBe(
      true,
    );
  });

  it('SIGKILL and restart of a region, then both down with a growing backlog: recovery sends live records first and loses nothing', async () => {
    const { a, b, cloudA, cloudB, rig: r } = await twoRegions();
    const ids: string[] = [];
    ids.push(...r.store.append(Array.from({ length: 200 }, (_, n) => telemetry(Date.now(), n))).ids);
    await eventually(() => arrivals([cloudA]).size === 200, 20_000, 'first records in region-a');

    await a.kill();
    ids.push(...r.store.append(Array.from({ length: 200 }, (_, n) => telemetry(Date.now(), 1_000 + n))).ids);
    await eventually(() => cloudB.records().length >= 200, 20_000, 'failover to region-b after SIGKILL');
    await a.start();

    // Both down: the backlog grows in the store. Old readings (an hour ago) and live ones.
    await a.kill();
    await b.kill();
    await sleep(500);
    const backlog = r.store.append(
      Array.from({ length: 3_000 }, (_, n) =>
        telemetry(Date.now() - 3_600_000 + n, 10_000 + n, 'pump/history'),
      ),
    ).ids;
    await sleep(2_500);
    const live = r.store.append(
      Array.from({ length: 300 }, (_, n) => telemetry(Date.now(), 20_000 + n, 'pump/live')),
    ).ids;
    ids.push(...backlog, ...live);
    expect(r.store.metrics().lanes.telemetry.depth).toBeGreaterThanOrEqual(3_300);

    // Hold Replay back (as an operator's deployment would) until the restarted regions' consumers have
    // subscribed again: a restarted broker has no sessions, and a batch it accepts before then reaches no
    // consumer, which the test would count as lost.
    const replayConfig = () => structuredClone(r.gw.host.component('com.edgedr.Replay')?.configuration ?? {});
    expect((await r.gw.host.deploy('com.edgedr.Replay', { ...replayConfig(), paused: true })).status).toBe(
      'APPLIED',
    );
    await b.start();
    await a.start();
    await eventually(() => cloudA.subscribed && cloudB.subscribed, 20_000, 'consumers subscribed again');
    const recoveredFrom = Date.now();
    expect((await r.gw.host.deploy('com.edgedr.Replay', { ...replayConfig(), paused: false })).status).toBe(
      'APPLIED',
    );
    await eventually(() => arrivals([cloudA, cloudB]).size === new Set(ids).size, 60_000, 'backlog drained');
    const counts = arrivals([cloudA, cloudB]);
    for (const id of ids) expect(counts.get(id)).toBeGreaterThanOrEqual(1);

    // Live records first: every live record was delivered before the last of the backlog.
    const afterRecovery = [cloudA, cloudB]
      .flatMap((c) => c.batches)
      .filter((batch) => batch.atMs >= recoveredFrom)
      .sort((x, y) => x.atMs - y.atMs)
      .flatMap((batch) => batch.records.map((rec) => rec.stream));
    const lastLive = afterRecovery.lastIndexOf('pump/live');
    const firstHistory = afterRecovery.indexOf('pump/history');
    expect(lastLive).toBeGreaterThanOrEqual(0);
    expect(lastLive).toBeLessThan(firstHistory);
    expect(replayLog(r).some((l) => l['msg'] === 'region switch: all-down')).toBe(true);
  });
});
