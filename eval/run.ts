/**
 * Evaluations against real data: `npm run eval -- skab --data DIR [--json FILE] [--choose]`.
 * DIR is a copy of SKAB (github waico/SKAB) with `valve1/` and `anomaly-free/`; it is read, never copied.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { argValue } from '../dev/args';
import { printTable, fmt } from '../bench/table';
import { DEFAULT_FIT } from '../components/inference/src/core/pca';
import { evaluateFile, readSkabDir, summarise, type DetectorSettings, type SkabFile } from './skab';

/**
 * The detector's settings for SKAB, the same for every file. Fixed beforehand: control limits at 99.9 %
 * confidence and an alarm after 5 of 9 windows (5 s of evidence at 1 Hz). Chosen on normal data only:
 * the window length, as the candidate with the fewest false alarms on the anomaly-free recording cut into
 * valve1-sized runs (`--choose` prints that comparison).
 */
export const SKAB_SETTINGS: DetectorSettings = {
  window: 5,
  fit: { ...DEFAULT_FIT, alpha: 0.999 },
  persistence: { k: 5, n: 9 },
  threshold: 1,
};
const WINDOW_CANDIDATES = [5, 10, 20, 30];
/** Anomaly-free runs are cut to the length of a valve1 run, so the protocol is the same. */
const RUN_ROWS = 1_100;

const LEADERBOARD_OUTLIER: [string, number, number, number][] = [
  ['Conv-AE', 0.78, 13.55, 28.02],
  ['MSET', 0.78, 39.73, 14.13],
  ['PCA T²+Q', 0.76, 26.62, 24.92],
  ['LSTM-AE', 0.74, 29.96, 25.92],
  ['Isolation Forest', 0.29, 2.56, 82.89],
];
const LEADERBOARD_CHANGEPOINT: [string, number, number, number][] = [
  ['MSCRED', 32.42, 16.53, 40.28],
  ['Isolation Forest', 26.16, 19.5, 30.82],
  ['T²+Q', 25.35, 14.51, 31.33],
  ['Conv-AE', 23.61, 21.54, 27.55],
];

async function skab(args: readonly string[]): Promise<void> {
  const data = resolve(argValue(args, '--data') ?? '../shared/data/SKAB');
  const valve1 = join(data, 'valve1');
  if (!existsSync(valve1)) throw new Error(`no SKAB data at ${data} (expected ${valve1})`);
  const settings = SKAB_SETTINGS;
  const results = [];
  for (const file of readSkabDir(valve1)) results.push(await evaluateFile(file, settings));
  const summary = summarise(results);

  // The anomaly-free recording: every alarm there is a false one.
  const freeDir = join(data, 'anomaly-free');
  const freeRuns = existsSync(freeDir) ? anomalyFreeRuns(readSkabDir(freeDir)) : [];
  const freeFar = freeRuns.length === 0 ? null : await falseAlarmRate(freeRuns, settings);
  if (args.includes('--choose')) {
    const rows: [string, string][] = [];
    for (const window of WINDOW_CANDIDATES)
      rows.push([`window ${window}`, `${fmt(await falseAlarmRate(freeRuns, { ...settings, window }), 2)} %`]);
    printTable(
      `window choice: false alarm rate on ${freeRuns.length} anomaly-free runs of ${RUN_ROWS} rows`,
      rows,
    );
  }

  const s = summary.outlier;
  printTable(
    `SKAB valve1, ${results.length} files (calibrate on the first 400 rows of each, score the rest)`,
    [
      ['this detector: F1 / FAR / MAR', `${fmt(s.f1, 2)} / ${fmt(s.far, 2)} % / ${fmt(s.mar, 2)} %`],
      ...LEADERBOARD_OUTLIER.map(([name, f1, far, mar]): [string, string] => [
        `  published ${name}`,
        `${fmt(f1, 2)} / ${fmt(far, 2)} % / ${fmt(mar, 2)} %`,
      ]),
      [
        'this detector: changepoint standard / low FP / low FN',
        `${fmt(summary.changepoint.standard, 2)} / ${fmt(summary.changepoint.lowFp, 2)} / ${fmt(summary.changepoint.lowFn, 2)}`,
      ],
      ...LEADERBOARD_CHANGEPOINT.map(([name, a, b, c]): [string, string] => [
        `  published ${name}`,
        `${fmt(a, 2)} / ${fmt(b, 2)} / ${fmt(c, 2)}`,
      ]),
      [
        `anomaly-free recording (${freeRuns.length} runs): false alarm rate`,
        freeFar === null ? 'not found' : `${fmt(freeFar, 2)} %`,
      ],
      [
        'settings',
        `window ${settings.window}, alpha ${settings.fit.alpha}, ${settings.fit.explainedVariance * 100} % variance, ` +
          `${settings.persistence.k} of ${settings.persistence.n}, threshold ${settings.threshold}`,
      ],
    ],
  );
  const json = argValue(args, '--json');
  if (json !== undefined) {
    mkdirSync(dirname(resolve(json)), { recursive: true });
    writeFileSync(
      json,
      `${JSON.stringify(
        {
          outlier: summary.outlier,
          changepoint: summary.changepoint,
          anomalyFreeFar: freeFar,
          settings,
          files: results.map((r) => ({ name: r.name, confusion: r.confusion })),
        },
        null,
        2,
      )}\n`,
    );
    console.log(`wrote ${json}`);
  }
}

function anomalyFreeRuns(files: readonly SkabFile[]): SkabFile[] {
  const runs: SkabFile[] = [];
  for (const f of files)
    for (let at = 0; at + RUN_ROWS <= f.rows.length; at += RUN_ROWS)
      runs.push({ name: `${f.name}@${at}`, rows: f.rows.slice(at, at + RUN_ROWS) });
  return runs;
}

async function falseAlarmRate(runs: readonly SkabFile[], settings: DetectorSettings): Promise<number> {
  const results = [];
  for (const run of runs) results.push(await evaluateFile(run, settings));
  return summarise(results).outlier.far;
}

const EVALUATIONS: Record<string, (args: readonly string[]) => Promise<void>> = { skab };

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const run = name === undefined ? undefined : EVALUATIONS[name];
  if (run === undefined) {
    console.error(
      `usage: npm run eval -- <${Object.keys(EVALUATIONS).join('|')}> [--data DIR] [--json FILE]`,
    );
    process.exitCode = 2;
    return;
  }
  await run(rest);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
