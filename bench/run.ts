/**
 * Benchmarks: `npm run bench -- <name>...` (no name runs all). Each prints a table and writes
 * bench-results/<name>.json. Figures depend on the machine; compare runs on the same one.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoBudgetBenchmark } from './demo-budget';
import { inferenceBenchmark } from './inference';
import { encodingBenchmark } from './encoding';
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
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const names = args.filter((a) => !a.startsWith('--'));
  const options = args.filter((a) => a.startsWith('--'));
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
