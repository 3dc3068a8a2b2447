import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MEASUREMENTS } from '../../components/inference/src/config';
import { featureNames } from '../../components/inference/src/core/features';
import { PumpSimulator, type FaultKind } from '../../dev/pump-simulator';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';
import { buildPageOutAddon } from '../../shared/src/runtime/host/native-addon';
import { connectClient, eventually, pubsubAcl, type IpcClient } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
import { readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(120_000);

const INFERENCE = 'com.edgedr.Inference';
const hasCompiler = ((): boolean => {
  try {
    buildPageOutAddon(process.arch === 'arm64' ? 'arm64' : 'x64');
    return true;
  } catch {
    return false;
  }
})();
const ALERTS = 'edgedr/inference/alerts';

describe('the Inference component under the local IPC host', () => {
  let gw: LocalGateway | undefined;
  let sensor: IpcClient | undefined;
  afterEach(async () => {
    await sensor?.close();
    await gw?.close();
    sensor = undefined;
    gw = undefined;
  });
  const tempDir = useTempDir('ggdr-inference-');

  async function start(inference: JsonTree): Promise<{ gw: LocalGateway; sensor: IpcClient }> {
    const g = await localGateway(tempDir(), {
      [INFERENCE]: { metricsIntervalMs: 200, flushMs: 20, ...inference },
    });
    gw = g;
    const token = g.host.addComponent('com.test.Sensors', {
      accessControl: pubsubAcl(['sensors/*'], []),
    }).token;
    await g.launcher.launch(['com.edgedr.Buffer', 'com.edgedr.Ingest', INFERENCE]);
    await g.launcher.waitForState(INFERENCE, 'RUNNING', 30_000);
    sensor = await connectClient(g.host, token);
    return { gw: g, sensor };
  }

  /** Readings of one simulated pump as a client device sends them, one second apart (simulated time). */
  async function play(
    client: IpcClient,
    sim: PumpSimulator,
    readings: number,
    fault?: { kind: FaultKind; seconds: number },
  ): Promise<void> {
    if (fault !== undefined) sim.injectFault('pump-1', fault.kind, fault.seconds * 1_000);
    for (let i = 0; i < readings; i++) {
      const [r] = sim.next();
      await client.publishToTopic({
        topic: 'sensors/pump-1/telemetry',
        publishMessage: { jsonMessage: { message: { ts: r!.tsMs, ...r!.measurements } } },
      });
    }
  }

  const metrics = (g: LocalGateway) => documents(g, 'edgedr/inference/metrics');

  it('scores live batches with the shipped model: one onset and one recovery, on the alert topic and in the store', async () => {
    const { gw: g, sensor: client } = await start({ calibration: { onStart: false } });
    const sim = new PumpSimulator(7, ['pump-1'], Date.now() - 3_600_000);
    await play(client, sim, 120);
    await eventually(
      () => (metrics(g).at(-1)?.['windowsScored'] as number) >= 110,
      15_000,
      'normal windows scored',
    );
    expect(documents(g, ALERTS)).toEqual([]);
    // With a C compiler here, the local bundle has page-out.node beside it and onnxruntime's start-up
    // pages go back to the kernel once the models are loaded; without one it says why it kept them.
    const pagesLine = readFileSync(g.launcher.logPath(INFERENCE), 'utf8')
      .split('\n')
      .find((l) => l.includes("onnxruntime's start-up pages"));
    expect(JSON.parse(pagesLine ?? '{}')).toMatchObject(
      hasCompiler
        ? { msg: "onnxruntime's start-up pages given back to the kernel", after: 'models loaded at start' }
        : { msg: "onnxruntime's start-up pages kept" },
    );

    await play(client, sim, 60, { kind: 'valve', seconds: 60 });
    await play(client, sim, 60);
    await eventually(() => documents(g, ALERTS).length >= 2, 15_000, 'onset and recovery');
    const events = documents(g, ALERTS);
    expect(events.map((e) => e['state'])).toEqual(['onset', 'recovery']);
    const [onset, recovery] = events as [Record<string, unknown>, Record<string, unknown>];
    expect(onset).toMatchObject({
      type: 'anomaly',
      asset: 'pump-1',
      threshold: 1,
      model: { id: 'default-pump' },
    });
    expect(onset['score']).toBeGreaterThan(1);
    const top = (onset['contributors'] as { feature: string }[]).map((c) => c.feature);
    expect(top.some((f) => /volumeFlowRateRMS|pressure|current/.test(f))).toBe(true);
    expect(recovery['durationMs']).toBeGreaterThan(30_000);
    expect(recovery['peakScore']).toBeGreaterThanOrEqual(onset['score'] as number);

    // Through Ingest into the store's alert lane, so they reach the cloud first.
    const storePath = join(g.launcher.workPath('com.edgedr.Buffer'), 'store', 'records.db');
    await eventually(
      () => readStore(storePath).records.filter((r) => r.stream === 'anomaly').length === 2,
      10_000,
      'anomaly records stored',
    );
    expect(
      readStore(storePath)
        .records.filter((r) => r.stream === 'anomaly')
        .every((r) => r.lane === 0),
    ).toBe(true);
  });

  it('calibrates on first start, keeps the calibration across a restart, and refuses a bad model while the old one runs', async () => {
    const { gw: g, sensor: client } = await start({
      calibration: { onStart: true, windows: 60, spanMs: 30_000 },
    });
    // A pump in another regime than the shipped model's: the calibration learns it.
    const sim = new PumpSimulator(11, ['pump-1'], Date.now() - 3_600_000);
    await play(client, sim, 100);
    const saved = join(g.launcher.workPath(INFERENCE), 'models', 'calibrated-all.onnx');
    await eventually(() => existsSync(saved), 15_000, 'calibrated model saved');
    await eventually(
      () =>
        (metrics(g).at(-1)?.['models'] as Record<string, { id: string }> | undefined)?.['all']?.id ===
        'calibrated-all',
      10_000,
      'calibrated model in use',
    );

    // The swap dropped no window: every window of the 100 readings was scored.
    await eventually(() => metrics(g).at(-1)?.['windowsScored'] === 96, 10_000, 'every window scored');

    await g.launcher.stop(INFERENCE);
    await g.launcher.launch([INFERENCE]);
    await g.launcher.waitForState(INFERENCE, 'RUNNING', 30_000);
    const before = metrics(g).length;
    await eventually(() => metrics(g).length > before + 1, 10_000, 'metrics after restart');
    expect(metrics(g).at(-1)).toMatchObject({
      models: { all: { id: 'calibrated-all' } },
      calibrating: {},
      quietUntilCalibrated: false,
    });

    // A model file that is not ONNX, with a sidecar that looks right: refused, the calibrated model stays.
    const bad = join(tempDir(), 'bad.onnx');
    writeFileSync(bad, 'not a model');
    writeFileSync(
      join(tempDir(), 'bad.json'),
      JSON.stringify({
        modelId: 'bad',
        version: '1',
        features: featureNames(DEFAULT_MEASUREMENTS),
        threshold: 1,
        origin: 'test',
        createdAtMs: 0,
      }),
    );
    const current = g.host.component(INFERENCE)?.configuration ?? {};
    expect((await g.host.deploy(INFERENCE, { ...current, modelPath: bad })).status).toBe('APPLIED');
    await eventually(
      () => (metrics(g).at(-1)?.['refusedModels'] as number) >= 1,
      10_000,
      'bad model refused',
    );
    const scored = metrics(g).at(-1)?.['windowsScored'] as number;
    await play(client, sim, 20);
    await eventually(
      () => (metrics(g).at(-1)?.['windowsScored'] as number) >= scored + 15,
      10_000,
      'still scoring',
    );
    expect(metrics(g).at(-1)).toMatchObject({ models: { all: { id: 'calibrated-all' } } });
    expect(g.host.component(INFERENCE)?.state).toBe('RUNNING');
  });

  it('recalibrates one asset on command when models are per asset; the others keep theirs', async () => {
    const { gw: g, sensor: client } = await start({
      calibration: { onStart: false, perAsset: true, windows: 40, spanMs: 20_000 },
    });
    const sim = new PumpSimulator(13, ['pump-1', 'pump-2'], Date.now() - 3_600_000);
    const feed = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++)
        for (const r of sim.next())
          await client.publishToTopic({
            topic: `sensors/${r.deviceId}/telemetry`,
            publishMessage: { jsonMessage: { message: { ts: r.tsMs, ...r.measurements } } },
          });
    };
    await feed(10);
    // What Replay forwards from a cloud command.
    g.host.publish('edgedr/inference/commands', {
      kind: 'json',
      message: { id: 'cmd-1', type: 'recalibrate', asset: 'pump-2' },
    });
    await feed(60);
    await eventually(
      () =>
        (metrics(g).at(-1)?.['models'] as Record<string, { id: string }> | undefined)?.['pump-2'] !==
        undefined,
      10_000,
      'a model for pump-2',
    );
    expect(metrics(g).at(-1)).toMatchObject({
      models: { all: { id: 'default-pump' }, 'pump-2': { id: 'calibrated-pump-2' } },
    });
  });

  it('refuses a per-asset calibration that saw a fault, says so on the alert topic, and calibrates on what follows', async () => {
    const { gw: g, sensor: client } = await start({
      calibration: { onStart: true, perAsset: true, windows: 60, spanMs: 0 },
    });
    const sim = new PumpSimulator(17, ['pump-1'], Date.now() - 3_600_000);
    // The inlet valve closes while it learns and opens again before the 60th window: the first attempt
    // is refused, and the second, on the 60 windows after it, sees only normal operation.
    await play(client, sim, 30);
    await play(client, sim, 25, { kind: 'valve', seconds: 25 });
    await play(client, sim, 80);
    await eventually(
      () => documents(g, ALERTS).some((e) => e['type'] === 'calibration' && e['state'] === 'refused'),
      15_000,
      'calibration refused',
    );
    const refused = documents(g, ALERTS).find((e) => e['state'] === 'refused')!;
    expect(refused).toMatchObject({ type: 'calibration', asset: 'pump-1', attempt: 1 });
    expect(String(refused['feature'])).toMatch(/volumeFlowRateRMS|pressure|current/);
    expect(refused['shift']).toBeGreaterThan(10);
    // No alarm while it is still learning, and the fault's windows never became a model.
    expect(documents(g, ALERTS).filter((e) => e['type'] === 'anomaly')).toEqual([]);
    await eventually(
      () => documents(g, ALERTS).some((e) => e['type'] === 'calibration' && e['state'] === 'done'),
      15_000,
      'calibration done on normal windows',
    );
    expect(documents(g, ALERTS).filter((e) => e['state'] === 'refused')).toHaveLength(1);
    // Metrics are published on their own interval: the latest may predate the refusal, or there may be
    // none yet (the first comes an interval after the start).
    await eventually(
      () => ![undefined, 0].includes(metrics(g).at(-1)?.['refusedCalibrations'] as number | undefined),
      10_000,
      'metrics published after the refusal',
    );
    expect(metrics(g).at(-1)?.['refusedCalibrations']).toBe(1);
  });
});
