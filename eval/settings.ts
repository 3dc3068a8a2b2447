import { printTable, fmt } from '../bench/table';
import { inferenceConfigSchema, type InferenceConfig } from '../components/inference/src/config';
import { largestShift } from '../components/inference/src/core/calibration';
import { windowsOf } from '../components/inference/src/core/windows';
import { corePolicy } from '../components/inference/src/policy';
import { evaluateFile, summarise, TRAIN_ROWS } from './skab';
import { cutIntoRuns, type SkabFile, type SkabGroup } from './skab-data';

/** SKAB's leaderboard pools valve1, valve2 and other: 34 files. */
export const LEADERBOARD_FILES = 34;
/** Unlabelled recordings are cut to the length of a valve1 run, so the protocol is the same. */
export const RUN_ROWS = 1_100;

export interface ChoiceRule {
  readonly setting: string;
  readonly value: string;
  readonly rule: string;
}

/** The goal for the anomaly-free recording (every alarm there is false). */
const FREE_FAR_GOAL = 5;
const TREND_CANDIDATES_MS = [60_000, 120_000, 300_000];
const ALPHA_CANDIDATES = [0.999, 0.9999, 0.99999, 0.999999];
const OFF_DELAY_CANDIDATES_MS = [0, 5_000, 10_000, 30_000];
/** Calibration slices of the anomaly-free recording start every this many rows. */
const SLICE_STEP = 100;

/**
 * How each setting was chosen, written down before any result was looked at. Only data without labels
 * decides (the anomaly-free recording, and the calibration rows SKAB's protocol treats as normal);
 * no setting is chosen on valve1's results. `--choose` reruns each rule and prints what it compared.
 */
export const CHOICE_RULES: readonly ChoiceRule[] = [
  {
    setting: 'window.size, persistence',
    value: '5 readings; alarm after 5 of 9 windows',
    rule: 'kept from before (window: fewest false alarms on the anomaly-free runs among 5, 10, 20, 30; 5 of 9: fixed beforehand)',
  },
  {
    setting: 'detrend.measurements',
    value: 'temperature, thermocouple',
    rule: 'the slow thermal channels, fixed beforehand (their drift over a run is many times their spread during calibration)',
  },
  {
    setting: 'detrend.timeConstantMs',
    value: '120000',
    rule: `among ${TREND_CANDIDATES_MS.join(', ')} ms, the one with the fewest false alarms on the anomaly-free runs (limits at 0.999)`,
  },
  {
    setting: 'calibration.fit.alpha',
    value: '0.99999',
    rule: `the lowest of ${ALPHA_CANDIDATES.join(', ')} whose false-alarm rate on the anomaly-free runs is at most ${FREE_FAR_GOAL} % (the goal)`,
  },
  {
    setting: 'persistence.offDelayMs',
    value: '0',
    rule: `the longest of ${OFF_DELAY_CANDIDATES_MS.join(', ')} ms whose false-alarm rate on the anomaly-free runs is at most ${FREE_FAR_GOAL} % (added later, after its candidates had been run on valve1 and the anomaly-free runs)`,
  },
  {
    setting: 'calibration.screen.maxShift',
    value: '10',
    rule: `twice the largest shift in any calibration window set of normal data: the anomaly-free recording's (${TRAIN_ROWS} rows from every ${SLICE_STEP}th row) and each labelled file's first ${TRAIN_ROWS} rows, rounded up to a multiple of 5`,
  },
  {
    setting: 'calibration (here)',
    value: `the first ${TRAIN_ROWS} rows of each file, one asset per file`,
    rule: "SKAB's protocol counts rows, so calibration.spanMs is 0 here; a gateway uses its configured span",
  },
  {
    setting: 'adaptation',
    value: 'after 10 min stable within 1 σ (5 slots)',
    rule: "fixed beforehand: longer than valve1's longest labelled episode (6.8 min), so a fault like those is reported throughout",
  },
];

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? merge(out[k], v) : v;
  return out;
}

/** The component's own defaults (what a gateway runs), with overrides for experiments. */
export function skabConfig(overrides: object = {}): InferenceConfig {
  const defaults = inferenceConfigSchema.parse({});
  return inferenceConfigSchema.parse(merge(defaults, overrides));
}

async function freeFar(runs: readonly SkabFile[], config: InferenceConfig): Promise<number> {
  const results = [];
  for (const run of runs) results.push(await evaluateFile('anomaly-free', run, config));
  return summarise(results).outlier.far;
}

/** Reruns the choice rules on the data found and prints what they compared and chose. */
export async function choose(groups: readonly SkabGroup[], config: InferenceConfig): Promise<void> {
  const free = groups.filter((g) => !g.labelled).flatMap((g) => g.files);
  if (free.length === 0) {
    console.log('\n--choose needs an unlabelled recording (anomaly-free/)');
    return;
  }
  const runs = cutIntoRuns(free, RUN_ROWS);
  // The rules judge false alarms with the screen off, so a refused calibration cannot hide any.
  const base = skabConfig({ calibration: { screen: { maxShift: 0 } } });
  const withConfig = (over: object): InferenceConfig => inferenceConfigSchema.parse(merge(base, over));

  const trend: [number, number][] = [];
  for (const tau of TREND_CANDIDATES_MS)
    trend.push([
      tau,
      await freeFar(
        runs,
        withConfig({ detrend: { timeConstantMs: tau }, calibration: { fit: { alpha: 0.999 } } }),
      ),
    ]);
  const tau = trend.reduce((a, b) => (b[1] < a[1] ? b : a))[0];
  printTable(
    'rule: detrend.timeConstantMs (false-alarm rate on the anomaly-free runs, limits at 0.999)',
    trend.map(([t, far]): [string, string] => [
      `${t} ms`,
      `${fmt(far, 2)} %${t === tau ? '  <- chosen' : ''}`,
    ]),
  );

  const alphas: [number, number][] = [];
  for (const alpha of ALPHA_CANDIDATES)
    alphas.push([
      alpha,
      await freeFar(runs, withConfig({ detrend: { timeConstantMs: tau }, calibration: { fit: { alpha } } })),
    ]);
  const alpha = alphas.find(([, far]) => far <= FREE_FAR_GOAL)?.[0] ?? ALPHA_CANDIDATES.at(-1)!;
  printTable(
    `rule: calibration.fit.alpha (false-alarm rate on the anomaly-free runs, trailing mean ${tau} ms)`,
    alphas.map(([a, far]): [string, string] => [
      String(a),
      `${fmt(far, 2)} %${a === alpha ? '  <- chosen' : ''}`,
    ]),
  );

  const delays: [number, number][] = [];
  for (const offDelayMs of OFF_DELAY_CANDIDATES_MS)
    delays.push([
      offDelayMs,
      await freeFar(
        runs,
        withConfig({
          detrend: { timeConstantMs: tau },
          calibration: { fit: { alpha } },
          persistence: { offDelayMs },
        }),
      ),
    ]);
  const offDelay = delays.filter(([, far]) => far <= FREE_FAR_GOAL).at(-1)?.[0] ?? 0;
  printTable(
    `rule: persistence.offDelayMs (false-alarm rate on the anomaly-free runs, limits at ${alpha})`,
    delays.map(([d, far]): [string, string] => [
      `${d} ms`,
      `${fmt(far, 2)} %${d === offDelay ? '  <- chosen' : ''}`,
    ]),
  );

  const chosen = withConfig({ detrend: { timeConstantMs: tau }, calibration: { fit: { alpha } } });
  const policy = corePolicy(chosen);
  const sets: { name: string; rows: SkabFile['rows'] }[] = [];
  for (const f of free)
    for (let at = 0; at + TRAIN_ROWS <= f.rows.length; at += SLICE_STEP)
      sets.push({ name: `${f.name}@${at}`, rows: f.rows.slice(at, at + TRAIN_ROWS) });
  for (const g of groups.filter((x) => x.labelled))
    for (const f of g.files) sets.push({ name: `${g.name}/${f.name}`, rows: f.rows.slice(0, TRAIN_ROWS) });
  let worst = { name: '', shift: 0, feature: '' };
  for (const s of sets) {
    const windows = windowsOf(s.rows, policy.window).map(({ window }) => ({
      asset: s.name,
      features: window.features,
      toMs: window.toMs,
    }));
    const shift = largestShift(windows, policy.calibration.screen);
    if (shift !== null && shift.shift > worst.shift)
      worst = { name: s.name, shift: shift.shift, feature: policy.features[shift.feature]! };
  }
  const maxShift = Math.ceil((2 * worst.shift) / 5) * 5;
  printTable('rule: calibration.screen.maxShift', [
    [
      `largest shift in ${sets.length} calibration sets of normal data`,
      `${fmt(worst.shift, 2)} (${worst.feature}, ${worst.name})`,
    ],
    ['twice that, rounded up to a multiple of 5', String(maxShift)],
  ]);
  printTable('chosen against configured', [
    ['detrend.timeConstantMs', `${tau} / ${config.detrend.timeConstantMs}`],
    ['calibration.fit.alpha', `${alpha} / ${config.calibration.fit.alpha}`],
    ['persistence.offDelayMs', `${offDelay} / ${config.persistence.offDelayMs}`],
    ['calibration.screen.maxShift', `${maxShift} / ${config.calibration.screen.maxShift}`],
  ]);
}
