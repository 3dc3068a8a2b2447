/**
 * Benchmarks: `npm run bench -- <name>...` (no name runs all). Each prints a table and writes
 * bench-results/<name>.json. Figures depend on the machine; compare runs on the same one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoBudgetBenchmark } from './demo-budget';
import { inferenceBenchmark } from './inference';
import { encodingBenchmark } from './encoding';
import { footprintBenchmark } from './footprint';
import { ingestBenchmark } from './ingest';
import { ipcBenchmark } from './ipc';
import { replayBenchmark } from './replay';
import { storeBenchmark } from './store';
import { storeScaleBenchmark } from './store-scale';

const BENCHMARKS: Record<string, (args: readonly string[]) => Promise<Record<string, unknown>>> = {
  store: storeBenchmark,
  'store-scale': storeScaleBenchmark,
  ipc: ipcBenchmark,
  ingest: ingestBenchmark,
  replay: replayBenchmark,
  encoding: encodingBenchmark,
  inference: inferenceBenchmark,
  'demo-budget': demoBudgetBenchmark,
  footprint: footprintBenchmark,
};

/**
 * Benchmark names and `--name=value` options; `--name value` is taken as `--name=value` when the value
 * is not itself a benchmark's name.
 */
function splitArgs(args: readonly string[]): { names: string[]; options: string[] } {
  const names: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const next = args[i + 1];
    if (!a.startsWith('--')) names.push(a);
    else if (!a.includes('=') && next !== undefined && !next.startsWith('--') && !(next in BENCHMARKS)) {
      options.push(`${a}=${next}`);
      i += 1;
    } else options.push(a);
  }
  return { names, options };
}

async function main(): Promise<void> {
  const { names, options } = splitArgs(process.argv.slice(2));
  const chosen = names.length === 0 ? Object.keys(BENCHMARKS) : names;
  const unknown = chosen.filter((n) => !(n in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(BENCHMARKS).join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const outDir = join(__dirname, '..', 'bench-results');
  mkdirSync(outDir, { recursive: true });
  for (const name of chosen) {
    const run = BENCHMARKS[name];
    if (run === undefined) continue;
    const result = await run(options);
    const file = join(outDir, `${name}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ benchmark: name, at: new Date().toISOString(), ...result }, null, 2)}\n`,
    );
    console.log(`wrote ${file}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
