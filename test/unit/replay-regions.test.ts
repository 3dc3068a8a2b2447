import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { replayConfigSchema } from '../../components/replay/src/config';
import { planOf } from '../../components/replay/src/plan';
import {
  regionClientIds,
  regionFileProblems,
  regionsSchema,
  resolveClientId,
} from '../../components/replay/src/regions';
import { parseConfig } from '../../shared/src/config';
import { thrownBy } from '../support/thrown';
import { useTempDir } from '../support/temp-dir';

describe('replay regions', () => {
  const tempDir = useTempDir('ggdr-regions-');

  function files(prefix: string): { certificatePath: string; privateKeyPath: string; caPath: string } {
    const out = {
      certificatePath: join(tempDir(), `${prefix}.crt`),
      privateKeyPath: join(tempDir(), `${prefix}.key`),
      caPath: join(tempDir(), `${prefix}-ca.pem`),
    };
    writeFileSync(out.certificatePath, 'CERT');
    writeFileSync(out.privateKeyPath, '-----BEGIN PRIVATE KEY-----secret');
    writeFileSync(out.caPath, 'CA');
    return out;
  }

  const region = (name: string, priority: number, extra: Record<string, unknown> = {}) => ({
    name,
    endpoint: `${name}.iot.example`,
    priority,
    clientId: `gw-1-replay-${name}`,
    ...files(name),
    ...extra,
  });

  it('fills defaults: port 8883, warm standby, IoT Core flow control on, no drain links', () => {
    const [r] = parseConfig(regionsSchema, [region('eu-west-1', 0)], 'regions');
    expect(r).toMatchObject({ port: 8883, standby: 'warm', iotCoreFlowControl: true, drainLinks: 0 });
  });

  it('gives each drain link a client id of its own, and refuses ids that collide', () => {
    const [r] = parseConfig(regionsSchema, [region('eu-west-1', 0, { drainLinks: 2 })], 'regions');
    expect(regionClientIds(r!)).toEqual([
      'gw-1-replay-eu-west-1',
      'gw-1-replay-eu-west-1-drain-1',
      'gw-1-replay-eu-west-1-drain-2',
    ]);
    const clash = [
      region('eu-west-1', 0, { drainLinks: 1 }),
      region('us-east-1', 1, { clientId: 'gw-1-replay-eu-west-1-drain-1' }),
    ];
    expect((thrownBy(() => parseConfig(regionsSchema, clash, 'regions')) as Error).message).toContain(
      '[1].clientId: expected clientId gw-1-replay-eu-west-1-drain-1 is also used by region eu-west-1',
    );
    expect(
      (thrownBy(() => parseConfig(regionsSchema, [region('a', 0, { drainLinks: 8 })], 'regions')) as Error)
        .message,
    ).toContain('[0].drainLinks: expected <= 7');
  });

  it('reports a client id longer than IoT Core allows once {thing} and the drain suffix are filled in', () => {
    const long = parseConfig(
      regionsSchema,
      [region('eu-west-1', 0, { clientId: '{thing}-replay', drainLinks: 3 })],
      'regions',
    );
    expect(regionFileProblems(long, 'x'.repeat(120)).join()).toContain(
      "longer than IoT Core's 128 characters",
    );
    expect(regionFileProblems(long, 'gw-1')).toEqual([]);
  });

  it('hedging: defaults, bounds, and a delay that never reaches the ack timeout', () => {
    const c = parseConfig(replayConfigSchema, {}, 'replay');
    expect(c.hedging).toEqual({ enabled: true, minDelayMs: 200, maxDelayMs: 2_000, maxInFlight: 2 });
    expect(c.commands.maxFutureSkewMs).toBe(5_000);
    expect(
      (thrownBy(() => parseConfig(replayConfigSchema, { hedging: { minDelayMs: 3_000 } }, 'replay')) as Error)
        .message,
    ).toContain('hedging.minDelayMs: expected at most maxDelayMs (2000)');
    const quick = parseConfig(replayConfigSchema, { connection: { ackTimeoutSeconds: 1 } }, 'replay');
    expect(planOf(quick, quick.topics).policy.hedging).toMatchObject({ minDelayMs: 200, maxDelayMs: 750 });
  });

  it('names the region and the field of each problem', () => {
    const err = thrownBy(() =>
      parseConfig(
        regionsSchema,
        [region('eu-west-1', 0, { port: 70_000 }), region('us-east-1', 'x' as unknown as number)],
        'regions',
      ),
    );
    expect((err as Error).message).toBe(
      'invalid configuration (regions): [0].port: expected <= 65535, found number 70000; [1].priority: expected number, found string "x"',
    );
  });

  it('refuses two regions with the same name or client id', () => {
    const twice = [region('eu-west-1', 0), region('eu-west-1', 1, { clientId: 'gw-1-replay-eu-west-1' })];
    const message = (thrownBy(() => parseConfig(regionsSchema, twice, 'regions')) as Error).message;
    expect(message).toContain('[1].name: expected name eu-west-1 is also used by region eu-west-1');
    expect(message).toContain(
      '[1].clientId: expected clientId gw-1-replay-eu-west-1 is also used by region eu-west-1',
    );
  });

  it('reports missing or unreadable files by name, never quoting a key', () => {
    const ok = parseConfig(regionsSchema, [region('eu-west-1', 0), region('us-east-1', 1)], 'regions');
    expect(regionFileProblems(ok, 'gw-1')).toEqual([]);
    const missing = [{ ...ok[0], privateKeyPath: join(tempDir(), 'nope.key') }] as typeof ok;
    const problems = regionFileProblems(missing, 'gw-1');
    expect(problems).toEqual([
      `region eu-west-1: privateKeyPath ${join(tempDir(), 'nope.key')} does not exist`,
    ]);
    if (process.getuid?.() !== 0) {
      chmodSync(ok[1]?.privateKeyPath ?? '', 0o000);
      expect(regionFileProblems(ok, 'gw-1').join()).toContain('cannot be read');
    }
    expect(problems.join()).not.toContain('BEGIN PRIVATE KEY');
  });

  it('reports a client id equal to the thing name, which would disconnect the nucleus', () => {
    const ok = parseConfig(regionsSchema, [region('eu-west-1', 0, { clientId: 'gw-1' })], 'regions');
    expect(regionFileProblems(ok, 'gw-1').join()).toContain('clientId must differ from the thing name gw-1');
    const templated = parseConfig(
      regionsSchema,
      [region('eu-west-1', 0, { clientId: '{thing}' })],
      'regions',
    );
    expect(regionFileProblems(templated, 'gw-1').join()).toContain('clientId must differ');
    expect(resolveClientId('{thing}-replay-eu-west-1', 'gw-1')).toBe('gw-1-replay-eu-west-1');
  });
});
