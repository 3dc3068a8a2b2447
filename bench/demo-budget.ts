import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { budgetUnavailable, makeBudgetGroup, type BudgetGroup } from '../dev/cgroup';
import type { DetectionReport } from '../dev/detection';
import { option } from './common';
import { fmt, printTable } from './table';

/**
 * The demo on a Pi-like budget: `npm run bench -- demo-budget [--cpus=0.5] [--memory-mb=400] [--runs=1]
 * [--scale=1]`. Makes a cgroup of its own (root only; it says why it skips otherwise), runs the whole demo
 * inside it (components, regions, simulator) and checks what must hold there too: nothing lost, every
 * injected fault detected, at most one false alarm per asset-hour. The machine is shared, so a run at a
 * busy moment measures less than the budget; repeat it.
 */
interface DemoReport {
  readonly lost: number;
  readonly produced: number;
  readonly detection: DetectionReport;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function runInside(group: BudgetGroup, out: string, scale: number): Promise<number> {
  // The child waits on stdin until it is in the group, so nothing it starts runs outside it.
  const child = spawn(
    'sh',
    [
      '-c',
      'read go; exec "$@"',
      'sh',
      'npx',
      'tsx',
      'scripts/demo.ts',
      '--out',
      out,
      '--scale',
      String(scale),
    ],
    { cwd: join(__dirname, '..'), stdio: ['pipe', 'inherit', 'inherit'] },
  );
  group.add(child.pid!);
  child.stdin.end('go\n');
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

async function removeWhenEmpty(group: BudgetGroup): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      group.remove();
      return;
    } catch {
      await sleep(200); // processes still leaving
    }
  }
  console.warn(`cgroup ${group.paths.join(', ')} not removed: processes remain`);
}

export async function demoBudgetBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const cpus = option(args, 'cpus', 0.5);
  const memoryMb = option(args, 'memory-mb', 400);
  const runs = option(args, 'runs', 1);
  const scale = option(args, 'scale', 1);
  const skipped = budgetUnavailable();
  if (skipped !== null) {
    console.log(`demo-budget skipped: ${skipped}`);
    return { skipped };
  }
  const results: Record<string, unknown>[] = [];
  let failed = false;
  for (let run = 1; run <= runs; run++) {
    const group = makeBudgetGroup(`edgedr-budget-${process.pid}-${run}`, {
      cpus,
      memoryBytes: memoryMb * 1024 * 1024,
    });
    const out = mkdtempSync(join(tmpdir(), 'edgedr-demo-budget-'));
    try {
      const code = await runInside(group, out, scale);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DemoReport;
      const d = report.detection;
      const ok =
        code === 0 && report.lost === 0 && d.detected === d.injected && d.falseAlarmsPerAssetHour <= 1;
      failed ||= !ok;
      const peak = group.peakMemoryBytes();
      const throttled = group.throttledMs();
      results.push({
        run,
        cgroup: group.kind,
        exitCode: code,
        lost: report.lost,
        produced: report.produced,
        injected: d.injected,
        detected: d.detected,
        falseAlarms: d.falseAlarms.length,
        falseAlarmsPerAssetHour: d.falseAlarmsPerAssetHour,
        delaysMs: d.faults.map((f) => f.delayMs),
        peakMemoryMb: peak === null ? null : Math.round(peak / 1e5) / 10,
        throttledMs: throttled === null ? null : Math.round(throttled),
        ok,
      });
      printTable(`demo in a cgroup (${group.kind}) of ${cpus} CPU and ${memoryMb} MB, run ${run}`, [
        ['lost', String(report.lost)],
        ['faults detected', `${d.detected} of ${d.injected}`],
        [
          'false alarms',
          `${d.falseAlarms.length} (${fmt(d.falseAlarmsPerAssetHour, 2)} per asset-hour, target <= 1)`,
        ],
        [
          'peak memory of the group (page cache included)',
          peak === null ? 'unknown' : `${fmt(peak / 1e6, 1)} MB`,
        ],
        [
          'time throttled by the CPU budget',
          throttled === null ? 'unknown' : `${fmt(throttled / 1_000, 1)} s`,
        ],
        ['holds', ok ? 'yes' : 'NO'],
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
      await removeWhenEmpty(group);
    }
  }
  if (failed) process.exitCode = 1;
  return { cpus, memoryMb, scale, runs: results };
}
