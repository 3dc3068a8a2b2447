import { isDrError, type DrError } from '../../shared/src/errors';
import { GreengrassIpcRuntime } from '../../shared/src/runtime/greengrass-ipc-runtime';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import type { LocalMessage } from '../../shared/src/runtime/port';
import { captureLogger, eventually, pubsubAcl, startHost } from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

describe('the production runtime adapter against the local IPC host', () => {
  let host: LocalIpcHost | undefined;
  const runtimes: GreengrassIpcRuntime[] = [];
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
    await host?.stop();
    host = undefined;
  });
  const tempDir = useTempDir('ggdr-rt-');

  async function runtimeFor(
    name: string,
    configuration: Record<string, unknown>,
  ): Promise<GreengrassIpcRuntime> {
    const log = captureLogger();
    host ??= await startHost(tempDir(), log.logger);
    const token = host.addComponent(name, configuration as never).token;
    const rt = await GreengrassIpcRuntime.connect({
      componentName: name,
      logger: log.logger,
      env: {
        AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: host.socketPath,
        SVCUID: token,
        AWS_IOT_THING_NAME: 'gw-env',
      },
      workDir: tempDir(),
    });
    runtimes.push(rt);
    return rt;
  }

  it('takes its connection and identity from the environment the nucleus sets', async () => {
    const rt = await runtimeFor('com.test.Env', {});
    expect(rt.thingName).toBe('gw-env');
    expect(rt.componentName).toBe('com.test.Env');
  });

  it('fails to connect with IPC_CONNECT_FAILED, naming what is missing', async () => {
    const log = captureLogger();
    await expect(
      GreengrassIpcRuntime.connect({ componentName: 'x', logger: log.logger, env: {} }),
    ).rejects.toMatchObject({
      code: 'IPC_CONNECT_FAILED',
      message: expect.stringContaining('AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT') as unknown,
    });
  });

  it('publishes and receives JSON and binary, and excludes its own messages unless asked', async () => {
    const a = await runtimeFor('com.test.A', { accessControl: pubsubAcl(['t/*'], ['t/#']) });
    const b = await runtimeFor('com.test.B', { accessControl: pubsubAcl(['t/*'], ['t/#']) });
    const atA: LocalMessage[] = [];
    const atB: LocalMessage[] = [];
    const ownToo: LocalMessage[] = [];
    await a.subscribe('t/#', (m) => atA.push(m));
    await a.subscribe('t/#', (m) => ownToo.push(m), { includeOwn: true });
    await b.subscribe('t/#', (m) => atB.push(m));
    await a.publishJson('t/json', { v: 1 });
    await a.publishBinary('t/bin', Uint8Array.from([1, 2, 3]));
    await eventually(() => atB.length === 2 && ownToo.length === 2);
    expect(atA).toEqual([]);
    expect(atB[0]).toEqual({ topic: 't/json', kind: 'json', json: { v: 1 } });
    expect(atB[1]).toMatchObject({ topic: 't/bin', kind: 'binary' });
    expect(atB[1]?.kind === 'binary' ? [...atB[1].bytes] : []).toEqual([1, 2, 3]);
  });

  it('translates service errors into the suite codes', async () => {
    const rt = await runtimeFor('com.test.Errors', {
      limits: { max: 3 },
      accessControl: pubsubAcl(['ok'], []),
    });
    expect(await rt.getConfiguration(['limits', 'max'])).toBe(3);
    expect(await rt.getConfiguration(['limits'])).toEqual({ max: 3 });
    const codeOf = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'resolved',
        (e: unknown) => (isDrError(e) ? e.code : 'not a DrError'),
      );
    expect(await codeOf(rt.getConfiguration(['nope']))).toBe('IPC_NOT_FOUND');
    expect(await codeOf(rt.publishJson('forbidden', 1))).toBe('IPC_UNAUTHORIZED');
    expect(await codeOf(rt.subscribe('forbidden/#', () => undefined))).toBe('IPC_UNAUTHORIZED');
    expect(await codeOf(rt.updateConfiguration(['accessControl'], {}))).toBe('IPC_UNAUTHORIZED');
  });

  it('reports a lost connection once, as IPC_LOST', async () => {
    const rt = await runtimeFor('com.test.Lost', {});
    const lost: DrError[] = [];
    rt.onLost((e) => lost.push(e));
    await host?.stop();
    host = undefined;
    await eventually(() => lost.length > 0, 5_000, 'lost notice');
    await new Promise((r) => setTimeout(r, 100));
    expect(lost.map((e) => e.code)).toEqual(['IPC_LOST']);
  });
});
