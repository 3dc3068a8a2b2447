import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { commandReplySchema } from '../../shared/src/messages/cloud';
import { eventually } from '../support/ipc';
import { documents } from '../support/launch';
import { telemetry } from '../support/records';
import { regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(120_000);

const COMMANDS = `edgedr/${THING}/commands`;
const REPLIES = `edgedr/${THING}/commands/replies`;

/** Online presence means Replay has subscribed to commands in that region. */
async function online(cloud: RegionConsumer): Promise<void> {
  await eventually(
    () => cloud.json(`edgedr/${THING}/presence`).some((m) => m['state'] === 'online'),
    10_000,
    `online presence in ${cloud.region}`,
  );
}

describe('Replay: cloud commands through the connected region', () => {
  const ctx = useReplayRig('ggdr-replay-cmd-');

  it('executes fresh commands and answers them; refuses stale, malformed, unknown, unauthorized and replayed ones with a reply', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway({
      regions: [regionEntry(a, 0), regionEntry(b, 1)],
      commands: {
        allowed: ['status', 'failover', 'pin', 'unpin', 'pause', 'resume', 'recalibrate'].filter(
          (t) => t !== 'failover',
        ),
      },
    });
    const r = rig;
    await Promise.all([online(cloudA), online(cloudB)]);
    let seq = 0;
    const send = async (
      cloud: RegionConsumer,
      body: Record<string, unknown> | string,
    ): Promise<Record<string, unknown>> => {
      const correlation = Buffer.from(`c-${++seq}`);
      const before = cloud.messages.length;
      await cloud.publish(COMMANDS, typeof body === 'string' ? body : JSON.stringify(body), correlation);
      let reply: Record<string, unknown> | undefined;
      await eventually(
        () => {
          const m = cloud.messages
            .slice(before)
            .find((x) => x.topic === REPLIES && x.correlationData?.equals(correlation) === true);
          // Every reply has the shared format (shared/src/messages/cloud.ts).
          if (m !== undefined) reply = commandReplySchema.parse(JSON.parse(m.payload.toString('utf8')));
          return reply !== undefined;
        },
        10_000,
        `a reply to ${typeof body === 'string' ? body : String(body['type'])}`,
      );
      return reply!;
    };
    const fresh = (id: string, type: string, args?: Record<string, unknown>) => ({
      id,
      type,
      issuedAtMs: Date.now(),
      expiresAtMs: Date.now() + 60_000,
      ...(args === undefined ? {} : { args }),
    });

    // status, answered through the region the command came from.
    const status = await send(cloudB, fresh('cmd-1', 'status'));
    expect(status).toMatchObject({ id: 'cmd-1', status: 'done', region: 'region-b' });
    expect((status['result'] as Record<string, unknown>)['activeRegion']).toBe('region-a');

    // pin region-b: new records go there; unpin: back to region-a after the hold.
    expect(await send(cloudA, fresh('cmd-2', 'pin', { region: 'region-b' }))).toMatchObject({
      status: 'done',
      result: { pinnedRegion: 'region-b', activeRegion: 'region-b' },
    });
    r.store.append(Array.from({ length: 50 }, (_, n) => telemetry(Date.now(), n)));
    await eventually(() => cloudB.records().length === 50, 10_000, 'records in the pinned region');
    expect(await send(cloudA, fresh('cmd-3', 'unpin'))).toMatchObject({
      status: 'done',
      result: { pinnedRegion: null },
    });

    // pause: nothing is sent while paused; resume: it flows again.
    expect(await send(cloudA, fresh('cmd-4', 'pause'))).toMatchObject({
      status: 'done',
      result: { paused: true },
    });
    const delivered = cloudA.records().length + cloudB.records().length;
    r.store.append(Array.from({ length: 50 }, (_, n) => telemetry(Date.now(), 100 + n)));
    await new Promise((res) => setTimeout(res, 1_000));
    expect(cloudA.records().length + cloudB.records().length).toBe(delivered);
    expect(await send(cloudA, fresh('cmd-5', 'resume'))).toMatchObject({
      status: 'done',
      result: { paused: false },
    });
    await eventually(
      () => cloudA.records().length + cloudB.records().length === delivered + 50,
      10_000,
      'records after resume',
    );

    // recalibrate is passed to Inference on the local bus.
    expect(await send(cloudA, fresh('cmd-6', 'recalibrate', { asset: 'pump-1' }))).toMatchObject({
      status: 'done',
      result: { forwardedTo: 'edgedr/inference/commands' },
    });
    expect(documents(r.gw, 'edgedr/inference/commands')).toEqual([
      expect.objectContaining({
        id: 'cmd-6',
        type: 'recalibrate',
        asset: 'pump-1',
        requestedVia: 'region-a',
      }),
    ]);

    // Refusals, each with a reply that names the reason.
    const stale = { ...fresh('cmd-7', 'pause'), expiresAtMs: Date.now() - 1_000 };
    expect(await send(cloudA, stale)).toMatchObject({ id: 'cmd-7', status: 'refused', reason: 'stale' });
    const old = { ...fresh('cmd-8', 'pause'), issuedAtMs: Date.now() - 3_600_000 };
    expect(await send(cloudA, old)).toMatchObject({ id: 'cmd-8', status: 'refused', reason: 'stale' });
    expect(await send(cloudA, 'not json {')).toMatchObject({
      id: null,
      status: 'refused',
      reason: 'malformed',
    });
    expect(await send(cloudA, { ...fresh('cmd-9', 'pin'), args: { region: 7 } })).toMatchObject({
      id: 'cmd-9',
      status: 'refused',
      reason: 'malformed',
    });
    expect(await send(cloudA, fresh('cmd-10', 'reboot'))).toMatchObject({
      status: 'refused',
      reason: 'unknown',
    });
    expect(await send(cloudA, fresh('cmd-11', 'failover', { region: 'region-b' }))).toMatchObject({
      status: 'refused',
      reason: 'unauthorized',
    });
    expect(await send(cloudA, fresh('cmd-1', 'status'))).toMatchObject({
      status: 'refused',
      reason: 'duplicate',
    });
    // Issued further ahead of the gateway's clock than commands.maxFutureSkewMs: a replay window.
    const ahead = {
      ...fresh('cmd-14', 'pause'),
      issuedAtMs: Date.now() + 60_000,
      expiresAtMs: 253_402_300_799_000,
    };
    expect(await send(cloudA, ahead)).toMatchObject({ id: 'cmd-14', status: 'refused', reason: 'stale' });
    expect(await send(cloudA, fresh('cmd-12', 'pin', { region: 'mars' }))).toMatchObject({
      status: 'failed',
      reason: 'COMMAND_REJECTED',
    });
    // Refused commands changed nothing.
    expect((await send(cloudA, fresh('cmd-13', 'status')))['result']).toMatchObject({
      paused: false,
      pinnedRegion: null,
    });
  });

  it('a failover command moves traffic at once and holds it there; a pin survives a restart, and so do the ids already handled', async () => {
    const { regions, consumers } = await ctx.regions([{ name: 'region-a' }, { name: 'region-b' }]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    const rig = await ctx.gateway({
      regions: [regionEntry(a, 0), regionEntry(b, 1)],
      health: { probeIntervalMs: 300, failbackHoldMs: 60_000, maxConsecutiveFailures: 2 },
    });
    const r = rig;
    await online(cloudA);
    const command = (id: string, type: string, args?: Record<string, unknown>) =>
      cloudA.publish(
        COMMANDS,
        JSON.stringify({
          id,
          type,
          issuedAtMs: Date.now(),
          expiresAtMs: Date.now() + 60_000,
          ...(args ? { args } : {}),
        }),
      );
    await command('f-1', 'failover', { region: 'region-b' });
    await eventually(() => cloudA.json(REPLIES).some((m) => m['id'] === 'f-1'), 10_000, 'failover reply');
    r.store.append(Array.from({ length: 20 }, (_, n) => telemetry(Date.now(), n)));
    await eventually(() => cloudB.records().length === 20, 10_000, 'records in region-b');
    expect(cloudA.records()).toHaveLength(0);

    await command('p-1', 'pin', { region: 'region-b' });
    await eventually(() => cloudA.json(REPLIES).some((m) => m['id'] === 'p-1'), 10_000, 'pin reply');
    const statusBefore = documents(r.gw, 'edgedr/replay/status').length;
    const onlineBefore = cloudA
      .json(`edgedr/${THING}/presence`)
      .filter((m) => m['state'] === 'online').length;
    r.gw.launcher.signal('com.edgedr.Replay', 'SIGKILL');
    await eventually(
      () =>
        documents(r.gw, 'edgedr/replay/status')
          .slice(statusBefore)
          .filter((s) => s['pinnedRegion'] === 'region-b' && s['activeRegion'] === 'region-b').length > 2,
      20_000,
      'pinned after the restart',
    );
    r.store.append(Array.from({ length: 20 }, (_, n) => telemetry(Date.now(), 100 + n)));
    await eventually(() => cloudB.records().length === 40, 10_000, 'records still in region-b');
    expect(cloudA.records()).toHaveLength(0);

    // The restarted Replay still knows the ids it ran: the same commands again are refused.
    await eventually(
      () =>
        cloudA.json(`edgedr/${THING}/presence`).filter((m) => m['state'] === 'online').length > onlineBefore,
      10_000,
      'the restarted Replay online in region-a',
    );
    for (const [id, type, args] of [
      ['f-1', 'failover', { region: 'region-b' }],
      ['p-1', 'pin', { region: 'region-b' }],
    ] as const) {
      await command(id, type, args);
      await eventually(
        () => cloudA.json(REPLIES).some((m) => m['id'] === id && m['status'] === 'refused'),
        10_000,
        `${id} refused after the restart`,
      );
      expect(cloudA.json(REPLIES).find((m) => m['id'] === id && m['status'] === 'refused')).toMatchObject({
        reason: 'duplicate',
      });
    }
  });
});
