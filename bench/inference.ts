import { mkdtempSync, rmSync } from 'node:fs';
import { encodeLiveBatch, readObject, TOPICS } from '../shared/src/messages';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelPath, readModelFile } from '../components/inference/src/adapters/model-files';
import { OnnxAnomalyModel } from '../components/inference/src/adapters/onnx-model';
import { inferenceConfigSchema } from '../components/inference/src/config';
import { initialState, step, type LiveRecord } from '../components/inference/src/core/inference';
import { windowsOf } from '../components/inference/src/core/windows';
import { corePolicy } from '../components/inference/src/policy';
import { fitPca, pcaToOnnx, scorePca } from '../components/inference/src/core/pca';
import { PumpSimulator } from '../dev/pump-simulator';
import { pssBytes } from '../dev/memory';
import { nodePidInGroup, rssBytes } from '../dev/proc';
import { benchGateway, option } from './common';
import { fmt, printTable } from './table';

const CONFIG = inferenceConfigSchema.parse({});
const POLICY = corePolicy(CONFIG);
const FEATURES = POLICY.features;
const SOURCE_DIR = join(__dirname, '..', 'components', 'inference', 'src');

function simulatedWindows(count: number, seed: number): number[][] {
  const sim = new PumpSimulator(seed, ['pump'], 0);
  const readings = Array.from({ length: count + CONFIG.window.size - 1 }, () => {
    const r = sim.next()[0]!;
    return { tsMs: r.tsMs, values: CONFIG.measurements.map((m) => r.measurements[m]!) };
  });
  return windowsOf(readings, POLICY.window).map((w) => w.window.features);
}

/**
 * The whole per-window path as the component runs it: readings of 20 pumps through the core (windows,
 * detrending, features), one onnxruntime call per 64 windows, and the scores back through the episodes.
 * Microseconds per window.
 */
async function corePathUs(model: OnnxAnomalyModel, readings: number): Promise<number> {
  const assets = 20;
  const sim = new PumpSimulator(
    6,
    Array.from({ length: assets }, (_, i) => `pump-${i}`),
    0,
  );
  const batches: LiveRecord[][] = [];
  for (let t = 0; t < readings / assets; t++)
    batches.push(
      sim.next().map((r) => ({
        stream: 'telemetry',
        lane: 'telemetry',
        deviceId: r.deviceId,
        tsMs: r.tsMs,
        body: r.measurements,
      })),
    );
  let state = initialState(new Map([[null, model.info]]));
  let windows = 0;
  const started = performance.now();
  for (let i = 0; i < batches.length; i += 4) {
    // Four readings of every pump per live batch: 80 readings, flushed as calls of at most 64 windows.
    state = step(state, POLICY, { kind: 'records', records: batches.slice(i, i + 4).flat() }, 0).state;
    const flushed = step(state, POLICY, { kind: 'flush' }, 0);
    state = flushed.state;
    for (const e of flushed.effects) {
      if (e.kind !== 'score') continue;
      const out = await model.score(e.windows.map((w) => w.features));
      windows += e.windows.length;
      state = step(
        state,
        POLICY,
        {
          kind: 'scored',
          info: model.info,
          windows: e.windows,
          score: out.score,
          contributions: out.contributions,
        },
        0,
      ).state;
    }
  }
  return ((performance.now() - started) * 1_000) / Math.max(1, windows);
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;

/** Latencies of `rounds` calls with `batch` windows each, in microseconds. */
async function callTimes(
  model: OnnxAnomalyModel,
  windows: number[][],
  batch: number,
  rounds: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const at = (r * batch) % (windows.length - batch);
    const slice = windows.slice(at, at + batch);
    const t = performance.now();
    await model.score(slice);
    times.push((performance.now() - t) * 1000);
  }
  return times.sort((a, b) => a - b);
}

/** The component under the host, fed live batches of `assets` pumps; its process's resident memory. */
async function componentRss(
  readings: number,
  assets: number,
  rate: number,
): Promise<{
  rssMb: number;
  startMb: number;
  windowsScored: number;
  pssFirstThirdMaxMb: number;
  pssLastThirdMaxMb: number;
}> {
  const root = mkdtempSync(join(tmpdir(), 'ggdr-inference-bench-'));
  const { host, launcher, close } = await benchGateway(root, {
    'com.edgedr.Inference': { calibration: { onStart: false }, metricsIntervalMs: 250 },
  });
  try {
    await launcher.launch(['com.edgedr.Buffer', 'com.edgedr.Inference']);
    await launcher.waitForState('com.edgedr.Inference', 'RUNNING', 30_000);
    const startPid = nodePidInGroup(launcher.pid('com.edgedr.Inference') ?? -1) ?? 0;
    const startMb = rssBytes(startPid) / 1e6;
    let windowsScored = 0;
    host.subscribe('edgedr/inference/metrics', (_t, p) => {
      const m = readObject(p) as { windowsScored: number; memory: unknown } | undefined;
      if (m === undefined) return;
      windowsScored = m.windowsScored;
      if (process.env['BENCH_VERBOSE'] === '1') console.log(JSON.stringify(m.memory));
    });
    const ids = Array.from({ length: assets }, (_, i) => `pump-${i}`);
    const sim = new PumpSimulator(5, ids, Date.now() - readings * 1000);
    const started = Date.now();
    // PSS every second while it runs: a garbage-collected heap saws, a leak climbs.
    const pss: number[] = [];
    const sampler = setInterval(() => {
      const pid = nodePidInGroup(launcher.pid('com.edgedr.Inference') ?? -1);
      const bytes = pid === undefined ? null : pssBytes(pid);
      if (bytes !== null) pss.push(bytes / 1e6);
    }, 1_000);
    let seq = 0;
    for (let t = 0; t < readings / assets; t++) {
      const records = sim.next().map((r) => ({
        id: `bench:1:${++seq}`,
        stream: 'telemetry',
        lane: 'telemetry' as const,
        deviceId: r.deviceId,
        tsMs: r.tsMs,
        body: r.measurements,
      }));
      for (const message of encodeLiveBatch(TOPICS.ingestLive, 'bench', records))
        host.publish(TOPICS.ingestLive, { kind: 'binary', base64: message.toString('base64') });
      // Paced: `rate` readings per second, in the batches Ingest would publish.
      const due = started + ((t + 1) * assets * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const expected = readings - assets * 4;
    const deadline = Date.now() + 120_000;
    while (windowsScored < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    clearInterval(sampler);
    const pid = nodePidInGroup(launcher.pid('com.edgedr.Inference') ?? -1) ?? 0;
    const third = Math.max(1, Math.floor(pss.length / 3));
    const maxOf = (v: number[]): number => (v.length === 0 ? 0 : Math.max(...v));
    return {
      rssMb: rssBytes(pid) / 1e6,
      startMb,
      windowsScored,
      pssFirstThirdMaxMb: maxOf(pss.slice(0, third)),
      pssLastThirdMaxMb: maxOf(pss.slice(-third)),
    };
  } finally {
    await close();
    rmSync(root, { recursive: true, force: true });
  }
}

export async function inferenceBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const rounds = option(args, 'rounds', 2_000);
  const readings = option(args, 'readings', 60_000);
  const assets = option(args, 'assets', 20);
  const rate = option(args, 'rate', 2_000);
  const file = readModelFile(defaultModelPath(SOURCE_DIR));

  const loads: number[] = [];
  let model: OnnxAnomalyModel | undefined;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const m = await OnnxAnomalyModel.load(file.onnx, file.info, FEATURES);
    loads.push(performance.now() - t);
    if (model === undefined) model = m;
    else await m.release();
  }
  const loadMs = [...loads].sort((a, b) => a - b)[2]!;
  const windows = simulatedWindows(20_000, 3);
  await callTimes(model!, windows, 64, 200); // warm-up
  const one = await callTimes(model!, windows, 1, rounds);
  const sixtyFour = await callTimes(model!, windows, 64, Math.max(100, Math.floor(rounds / 4)));
  const batch64PerWindowUs = percentile(sixtyFour, 0.5) / 64;
  const windowsPerSec = (64 * sixtyFour.length) / (sixtyFour.reduce((a, b) => a + b, 0) / 1e6);
  await corePathUs(model!, 4_000); // warm-up
  const corePerWindowUs = await corePathUs(model!, 40_000);
  await model!.release();

  // Calibration as the component does it: fit 1,000 windows, export, load, check against the reference.
  const calibrationWindows = simulatedWindows(1_000, 4);
  const t = performance.now();
  const fit = fitPca(FEATURES, calibrationWindows, CONFIG.calibration.fit);
  const info = { ...file.info, modelId: 'bench', origin: 'bench' };
  const calibrated = await OnnxAnomalyModel.load(pcaToOnnx(fit, info), info, FEATURES);
  const check = await calibrated.score(calibrationWindows.slice(0, 256));
  calibrationWindows.slice(0, 256).forEach((x, i) => {
    if (Math.abs(check.score[i]! - scorePca(fit, x).score) > 1e-4 * Math.max(1, check.score[i]!))
      throw new Error('calibrated model disagrees with the reference');
  });
  const calibrationMs = performance.now() - t;
  await calibrated.release();

  const component = await componentRss(readings, assets, rate);
  printTable(`inference: the shipped model (${FEATURES.length} features), onnxruntime-node, one thread`, [
    ['model load', `${fmt(loadMs, 1)} ms`],
    ['batch 1: p50 / p99', `${fmt(percentile(one, 0.5), 1)} / ${fmt(percentile(one, 0.99), 1)} µs per call`],
    [
      'batch 64: p50 / p99',
      `${fmt(percentile(sixtyFour, 0.5), 1)} / ${fmt(percentile(sixtyFour, 0.99), 1)} µs per call = ${fmt(batch64PerWindowUs, 2)} µs per window (target <= 100)`,
    ],
    ['windows/s at batch 64', fmt(windowsPerSec)],
    [
      'whole path per window: core (windows, detrending, features, episodes) + onnxruntime, 20 pumps',
      `${fmt(corePerWindowUs, 2)} µs per window (target <= 100)`,
    ],
    ['calibration: fit 1,000 windows, export, load, verify', `${fmt(calibrationMs, 1)} ms`],
    ['component RSS once running', `${fmt(component.startMb, 1)} MB`],
    [
      `component RSS after ${fmt(component.windowsScored)} windows of ${assets} pumps at ${fmt(rate)} readings/s`,
      `${fmt(component.rssMb, 1)} MB (target <= 120)`,
    ],
    [
      'component PSS, highest in the first and the last third of the feed',
      `${fmt(component.pssFirstThirdMaxMb, 1)} / ${fmt(component.pssLastThirdMaxMb, 1)} MB`,
    ],
  ]);
  return {
    loadMs: Number(loadMs.toFixed(2)),
    batch1P50Us: Number(percentile(one, 0.5).toFixed(1)),
    batch1P99Us: Number(percentile(one, 0.99).toFixed(1)),
    batch64P50Us: Number(percentile(sixtyFour, 0.5).toFixed(1)),
    batch64P99Us: Number(percentile(sixtyFour, 0.99).toFixed(1)),
    batch64PerWindowUs: Number(batch64PerWindowUs.toFixed(3)),
    windowsPerSec: Math.round(windowsPerSec),
    corePathPerWindowUs: Number(corePerWindowUs.toFixed(2)),
    calibrationMs: Number(calibrationMs.toFixed(1)),
    rssMb: Number(component.rssMb.toFixed(1)),
    rssAtStartMb: Number(component.startMb.toFixed(1)),
    pssFirstThirdMaxMb: Number(component.pssFirstThirdMaxMb.toFixed(1)),
    pssLastThirdMaxMb: Number(component.pssLastThirdMaxMb.toFixed(1)),
    componentWindowsScored: component.windowsScored,
    componentReadingsPerSec: rate,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}
