import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RegionConsumer } from '../../dev/consumer';
import type { LocalRegion } from '../../dev/regions';
import { SHADOW_SERVICE_ACL, ShadowService } from '../../dev/shadow-service';
import { collect, spawnTs } from '../support/child';
import { eventually } from '../support/ipc';
import { regionEntry, THING, useReplayRig } from '../support/replay';

jest.setTimeout(180_000);

/** What the operator identity may use in a local region: the edgedr-operator IoT policy's topics. */
const OPERATOR_ACL = [
  'edgedr/+/commands',
  'edgedr/+/commands/replies',
  'edgedr/+/presence',
  '$aws/things/+/shadow/name/edgedr-dr/get',
  '$aws/things/+/shadow/name/edgedr-dr/get/+',
];

async function edgedr(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const lines: string[] = [];
  const done = await collect(spawnTs('cli/main.ts', args), (l) => lines.push(l));
  return { code: done.code, stdout: lines.join('\n'), stderr: done.stderr };
}

describe('edgedr, the operator tool, against local TLS regions and a running Replay', () => {
  let shadows: ShadowService[] = [];
  afterEach(async () => {
    await Promise.all(shadows.map((s) => s.close()));
    shadows = [];
  });
  const ctx = useReplayRig('ggdr-operator-');

  it('reads presence and the DR shadow per region, sends commands only where the gateway is online, lists the fleet', async () => {
    const identities = { operator: OPERATOR_ACL, shadow: SHADOW_SERVICE_ACL };
    const { regions, consumers } = await ctx.regions([
      { name: 'region-a', identities },
      { name: 'region-b', identities },
    ]);
    const [a, b] = regions as [LocalRegion, LocalRegion];
    const [cloudA, cloudB] = consumers as [RegionConsumer, RegionConsumer];
    shadows = await Promise.all([ShadowService.start(a, 'shadow'), ShadowService.start(b, 'shadow')]);
    const rig = await ctx.gateway({ regions: [regionEntry(a, 0), regionEntry(b, 1)] });
    const presence = `edgedr/${THING}/presence`;
    await eventually(
      () => [cloudA, cloudB].every((c) => c.json(presence).some((m) => m['state'] === 'online')),
      15_000,
      'online in both regions',
    );
    rig.store.append([
      { stream: 'pump/pressure', lane: 'telemetry', deviceId: 'p1', tsMs: Date.now(), body: { v: 1 } },
    ]);
    await eventually(
      () => cloudA.messages.some((m) => m.topic === `$aws/things/${THING}/shadow/name/edgedr-dr/update`),
      15_000,
      'a DR shadow update in region-a',
    );

    const config = join(ctx.tempDir(), 'edgedr.yaml');
    const region = (r: LocalRegion): string[] => {
      const f = r.files('operator');
      return [
        `  - name: ${r.name}`,
        `    endpoint: ${r.cloudEndpoint.host}`,
        `    port: ${r.cloudEndpoint.port}`,
        `    certificatePath: ${f.certificatePath}`,
        `    privateKeyPath: ${f.privateKeyPath}`,
        `    caPath: ${f.caPath}`,
      ];
    };
    writeFileSync(
      config,
      [
        'regions:',
        ...region(a),
        ...region(b),
        'groups:',
        `  pumps: [${THING}]`,
        'timeouts: { readMs: 1500, replyMs: 10000 }',
        '',
      ].join('\n'),
    );
    const cfg = ['--config', config];

    const status = await edgedr(['status', THING, '--json', ...cfg]);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as Record<string, unknown> & { regions: Record<string, unknown>[] };
    expect(s).toMatchObject({ thing: THING, onlineIn: ['region-a', 'region-b'], shadowRegion: 'region-a' });
    expect(s['reported']).toMatchObject({ activeRegion: 'region-a', paused: false });
    expect(s.regions[1]).toMatchObject({
      region: 'region-b',
      shadow: null,
      shadowProblem: 'no DR shadow in this region',
    });

    const human = await edgedr(['status', 'pumps', ...cfg]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`${THING}: online in region-a, region-b`);
    expect(human.stdout).toMatch(/DR state \(from region-a\): active region-a; backlog \d+ alert/);
    expect(human.stderr).toContain('connecting to region-a, region-b');

    // Commands: through the active region, with correlation data, answered by Replay.
    const pause = await edgedr(['send', THING, 'pause', '--json', ...cfg]);
    expect(pause.code).toBe(0);
    expect(JSON.parse(pause.stdout)).toMatchObject({
      outcome: 'replied',
      region: 'region-a',
      command: { type: 'pause' },
      reply: { status: 'done', result: { paused: true }, region: 'region-a' },
    });
    const pin = await edgedr(['send', THING, 'pin', 'region-b', '--via', 'region-b', ...cfg]);
    expect(pin.code).toBe(0);
    expect(pin.stdout).toMatch(/^pin op-\S+ to gw-test via region-b: done/);
    const badRegion = await edgedr(['send', THING, 'pin', 'mars', '--json', ...cfg]);
    expect(badRegion.code).toBe(2);
    expect(JSON.parse(badRegion.stdout)).toMatchObject({
      reply: { status: 'failed', reason: 'COMMAND_REJECTED' },
    });
    expect((await edgedr(['send', THING, 'failover', ...cfg])).stderr).toContain('failover needs a region');
    expect((await edgedr(['send', THING, 'reboot', ...cfg])).code).toBe(1);

    await eventually(
      () => cloudB.messages.some((m) => m.topic === `$aws/things/${THING}/shadow/name/edgedr-dr/update`),
      15_000,
      'the DR shadow now updated in region-b',
    );
    const fleet = await edgedr(['fleet', '--json', ...cfg]);
    expect(fleet.code).toBe(0);
    expect(JSON.parse(fleet.stdout)).toEqual([
      expect.objectContaining({ thing: THING, onlineIn: ['region-a', 'region-b'], activeRegion: 'region-b' }),
    ]);
    expect((await edgedr(['fleet', ...cfg])).stdout).toMatch(/^thing\s+online in\s+active/);

    // Refused without sending: a thing with no presence, then this one once Replay has stopped.
    const nobody = await edgedr(['send', 'gw-other', 'status', ...cfg]);
    expect(nobody.code).toBe(3);
    expect(nobody.stderr).toContain(
      'gw-other is not online in any region (region-a: no presence; region-b: no presence)',
    );
    await rig.close();
    const gone = await edgedr(['send', THING, 'status', '--json', ...cfg]);
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.stderr.slice(gone.stderr.indexOf('{')))).toMatchObject({
      outcome: 'not-online',
      reason: expect.stringMatching(/region-a: offline since .*region-b: offline since/) as string,
    });
    expect(
      cloudA.json(`edgedr/${THING}/commands`).length + cloudB.json(`edgedr/${THING}/commands`).length,
    ).toBe(3);
  });
});
