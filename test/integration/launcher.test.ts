import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComponentLauncher } from '../../shared/src/runtime/host/launcher';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import { REPO_ROOT } from '../support/child';
import { captureLogger, startHost } from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

/** A component in plain JavaScript that reports ERRORED over IPC each time it starts. */
const REPORTER = `
const { greengrasscoreipc, io } = require('aws-iot-device-sdk-v2');
const client = greengrasscoreipc.createClient({
  hostName: process.env.AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT,
  port: 0,
  socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.LOCAL),
  connectTransform: async (t) => { t.message.payload = JSON.stringify({ authToken: process.env.SVCUID }); return t.message; },
});
console.log('cwd=' + process.cwd() + ' thing=' + process.env.AWS_IOT_THING_NAME + ' greeting=' + process.argv[2]);
client.connect()
  .then(() => client.updateState({ state: 'ERRORED' }))
  .then(() => setInterval(() => {}, 1000));
process.on('SIGTERM', () => process.exit(0));
`;

describe('the recipe launcher', () => {
  let host: LocalIpcHost;
  let launcher: ComponentLauncher | undefined;
  afterEach(async () => {
    await launcher?.stopAll();
    launcher = undefined;
    await host.stop();
  });
  const tempDir = useTempDir('ggdr-launch-');

  it('runs a recipe Run step with its variables, and three reported errors make the component BROKEN', async () => {
    const recipes = join(tempDir(), 'recipes');
    mkdirSync(recipes);
    writeFileSync(join(tempDir(), 'reporter.js'), REPORTER);
    writeFileSync(
      join(recipes, 'com.test.Reporter.yaml'),
      [
        'RecipeFormatVersion: "2020-01-25"',
        'ComponentName: com.test.Reporter',
        'ComponentVersion: "1.0.0"',
        'ComponentConfiguration:',
        '  DefaultConfiguration:',
        `    script: ${join(tempDir(), 'reporter.js')}`,
        '    greeting: hello',
        'Manifests:',
        '  - Platform:',
        '      os: linux',
        '    Lifecycle:',
        '      run: node {configuration:/script} {configuration:/greeting}',
      ].join('\n'),
    );
    const logs = captureLogger();
    host = await startHost(tempDir(), logs.logger);
    launcher = new ComponentLauncher({
      host,
      projectRoot: REPO_ROOT,
      rootDir: tempDir(),
      recipesDir: recipes,
      thingName: 'gw-launch',
      region: 'eu-west-1',
      logger: logs.logger,
      restartDelayMs: 100,
    });
    const states: string[] = [];
    host.on('state', (name: string, state: string) => {
      if (name === 'com.test.Reporter') states.push(state);
    });
    await launcher.launch(['com.test.Reporter']);
    await launcher.waitForState('com.test.Reporter', 'BROKEN', 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(host.component('com.test.Reporter')?.state).toBe('BROKEN');
    expect(states.filter((s) => s === 'ERRORED')).toHaveLength(3);
    expect(states.at(-1)).toBe('BROKEN');
    expect(states.filter((s) => s === 'STARTING')).toHaveLength(3);
    expect(launcher.pid('com.test.Reporter')).toBeUndefined();
    const log = readFileSync(launcher.logPath('com.test.Reporter'), 'utf8');
    expect(log).toContain(`cwd=${launcher.workPath('com.test.Reporter')} thing=gw-launch greeting=hello`);
  });

  const recipe = (lifecycle: string[]): string =>
    [
      'RecipeFormatVersion: "2020-01-25"',
      'ComponentName: com.test.Strict',
      'ComponentVersion: "1.0.0"',
      'Manifests:',
      '  - Platform:',
      '      os: linux',
      '    Lifecycle:',
      ...lifecycle.map((l) => `      ${l}`),
    ].join('\n');

  const launcherFor = async (text: string): Promise<ComponentLauncher> => {
    const recipes = join(tempDir(), 'recipes');
    mkdirSync(recipes, { recursive: true });
    writeFileSync(join(recipes, 'com.test.Strict.yaml'), text);
    host = await startHost(tempDir(), captureLogger().logger);
    return new ComponentLauncher({
      host,
      projectRoot: REPO_ROOT,
      rootDir: tempDir(),
      recipesDir: recipes,
      thingName: 'gw-launch',
      region: 'eu-west-1',
      logger: captureLogger().logger,
      restartDelayMs: 50,
    });
  };

  it('refuses a recipe whose lifecycle keys nucleus lite would not find', async () => {
    await expect(launcherFor(recipe(['Run: sleep 60']))).rejects.toThrow(
      'Lifecycle.Run must be spelled run: nucleus lite reads recipe keys case-sensitively',
    );
  });

  it('does not run a step whose braces are no recipe variable, as nucleus lite does not', async () => {
    launcher = await launcherFor(recipe(['run: test -d /tmp || { echo missing; exit 1; }']));
    await launcher.launch(['com.test.Strict']);
    await launcher.waitForState('com.test.Strict', 'BROKEN', 30_000);
    expect(readFileSync(launcher.logPath('com.test.Strict'), 'utf8')).toContain(
      'run step not run: No : found in recipe variable: { echo missing; exit 1; }',
    );
  });
});
