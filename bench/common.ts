import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, type ChartSpec } from '../dev/svg-chart';
import { createLogger } from '../shared/src/logger';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import { ComponentLauncher } from '../shared/src/runtime/host/launcher';

/** The thing name benchmarks run as. */
export const BENCH_THING = 'bench-gw';

/** `--name=value` from a benchmark's arguments, as a number. */
export function option(args: readonly string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

/** The measurements of one pump reading (about 200 bytes as JSON), varied by `n`. */
export function pumpMeasurements(n: number): Record<string, number> {
  return {
    accelerometer1RMS: 0.0273 + (n % 100) / 1e4,
    accelerometer2RMS: 0.0401 + (n % 37) / 1e4,
    current: 0.8 + (n % 13) / 100,
    pressure: 0.054 + (n % 7) / 1e3,
    temperature: 71.2 + (n % 11) / 10,
    thermocouple: 24.3 + (n % 5) / 10,
    voltage: 229.4 + (n % 17) / 10,
    volumeFlowRateRMS: 32 + (n % 3),
  };
}

/** The local IPC host and a launcher over the project's recipes, in `root`, for a benchmark. */
export async function benchGateway(
  root: string,
  overrides: Record<string, JsonTree>,
  maxPendingWriteBytes?: number,
): Promise<{ host: LocalIpcHost; launcher: ComponentLauncher; close: () => Promise<void> }> {
  const logger = createLogger({ component: 'bench', version: '0', thing: BENCH_THING, level: 'warn' });
  const host = new LocalIpcHost({
    socketPath: join(root, 'ipc.sock'),
    logger,
    ...(maxPendingWriteBytes === undefined ? {} : { maxPendingWriteBytes }),
  });
  await host.start();
  const projectRoot = join(__dirname, '..');
  const launcher = new ComponentLauncher({
    host,
    projectRoot,
    rootDir: root,
    recipesDir: join(projectRoot, 'recipes'),
    thingName: BENCH_THING,
    region: 'eu-west-1',
    logger,
    overrides,
  });
  return {
    host,
    launcher,
    close: async () => {
      await launcher.stopAll();
      await host.stop();
    },
  };
}

/** Writes a benchmark's chart as bench-results/<file>.svg beside its JSON, and says where. */
export function writeChart(file: string, spec: ChartSpec): string {
  const dir = join(__dirname, '..', 'bench-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${file}.svg`);
  writeFileSync(path, chartSvg(spec));
  console.log(`wrote ${path}`);
  return path;
}
