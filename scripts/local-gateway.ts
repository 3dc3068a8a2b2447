/**
 * Runs the suite's components on this machine the way a gateway does, under the local IPC host.
 *   npm run gateway -- [--root DIR] [--thing NAME] [--region NAME] [--overrides FILE.json] [Component ...]
 * With no component names, every recipe in recipes/ is started. Ctrl-C stops them (SIGTERM, then SIGKILL).
 * Logs: <root>/logs/<Component>.log; work directories: <root>/work/<Component>.
 */
import { readFileSync } from 'node:fs';
import { readObject } from '../shared/src/messages';
import { join, resolve } from 'node:path';
import { createLogger } from '../shared/src/logger';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import { ComponentLauncher } from '../shared/src/runtime/host/launcher';

interface Args {
  root: string;
  thing: string;
  region: string;
  overrides: Record<string, JsonTree>;
  components: string[];
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    root: resolve('.gateway'),
    thing: 'local-gateway',
    region: 'eu-west-1',
    overrides: {},
    components: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--root') args.root = resolve(value());
    else if (a === '--thing') args.thing = value();
    else if (a === '--region') args.region = value();
    else if (a === '--overrides')
      args.overrides = JSON.parse(readFileSync(value(), 'utf8')) as Record<string, JsonTree>;
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else args.components.push(a);
  }
  return args;
}

async function run(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const logger = createLogger({ component: 'local-gateway', version: '0.1.0', thing: args.thing });
  const host = new LocalIpcHost({ socketPath: join(args.root, 'ipc.sock'), logger });
  await host.start();
  const projectRoot = resolve(__dirname, '..');
  const launcher = new ComponentLauncher({
    host,
    projectRoot,
    rootDir: args.root,
    recipesDir: join(projectRoot, 'recipes'),
    thingName: args.thing,
    region: args.region,
    logger,
    overrides: args.overrides,
  });
  host.on('state', (name: string, state: string) => logger.info({ client: name, state }, 'component state'));
  host.subscribe('edgedr/+/metrics', (topic, payload) => {
    const metrics = readObject(payload);
    if (metrics !== undefined) logger.info({ topic, metrics }, 'metrics');
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping the local gateway');
    void launcher
      .stopAll()
      .then(() => host.stop())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await launcher.launch(args.components.length > 0 ? args.components : launcher.recipeNames());
  logger.info({ root: args.root, socket: host.socketPath }, 'local gateway running; Ctrl-C stops it');
}

run().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
