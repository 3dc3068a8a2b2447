import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildComponents } from '../../scripts/build-components';
import { pidInGroup } from '../../dev/proc';
import { PumpSimulator } from '../../dev/pump-simulator';
import { TOPICS } from '../../shared/src/messages/topics';
import { ComponentLauncher } from '../../shared/src/runtime/host/launcher';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import { arm64Node } from '../support/arm64';
import { REPO_ROOT } from '../support/child';
import { captureLogger, connectClient, eventually, pubsubAcl, startHost } from '../support/ipc';
import { documentsIn } from '../support/launch';
import { readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';
import type { LocalPayload } from '../../shared/src/runtime/host/ipc-host';

/**
 * The aarch64 zips, as a 64-bit Raspberry Pi runs them: an arm64 Node under qemu-user-static runs the
 * Install checks and the components, with the cross-compiled better-sqlite3 and onnxruntime's arm64
 * binary, under the local IPC host.
 */
const arm64 = arm64Node();
if ('skipped' in arm64) console.warn(`arm64 artifacts not run: ${arm64.skipped}`);

jest.setTimeout(900_000);

const COMPONENTS = ['com.edgedr.Buffer', 'com.edgedr.Ingest', 'com.edgedr.Inference'];

('skipped' in arm64 ? describe.skip : describe)('the aarch64 artifacts on an arm64 Node under qemu', () => {
  let host: LocalIpcHost | undefined;
  let launcher: ComponentLauncher | undefined;
  let out = '';
  afterEach(async () => {
    await launcher?.stopAll();
    await host?.stop();
  });
  const tempDir = useTempDir('ggdr-arm64-');
  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'ggdr-arm64-build-'));
    await buildComponents(['aarch64'], out);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('installs, stores and reads through the cross-compiled SQLite, and scores with the arm64 onnxruntime', async () => {
    const dir = (arm64 as { dir: string }).dir;
    const logs = captureLogger();
    host = await startHost(tempDir(), logs.logger);
    const messages: { topic: string; payload: LocalPayload }[] = [];
    host.subscribe('#', (topic, payload) => messages.push({ topic, payload }));
    launcher = new ComponentLauncher({
      host,
      projectRoot: REPO_ROOT,
      rootDir: tempDir(),
      recipesDir: join(REPO_ROOT, 'recipes'),
      thingName: 'gw-arm64',
      region: 'eu-west-1',
      logger: logs.logger,
      prebuiltArtifactsDir: join(out, 'artifacts'),
      architecture: 'aarch64',
      pathPrefix: [dir],
      installTimeoutMs: 300_000,
      overrides: {
        'com.edgedr.Buffer': { metricsIntervalMs: 1_000 },
        'com.edgedr.Inference': { metricsIntervalMs: 1_000, calibration: { onStart: false } },
      },
    });
    const token = host.addComponent('com.test.Sensors', {
      accessControl: pubsubAcl(['sensors/*'], []),
    }).token;
    await launcher.launch(COMPONENTS);
    for (const name of COMPONENTS) await launcher.waitForState(name, 'RUNNING', 300_000);
    const l = launcher;
    await eventually(
      () => COMPONENTS.every((name) => readFileSync(l.logPath(name), 'utf8').includes('"msg":"running"')),
      30_000,
      'each component logging that it runs',
    );
    // What runs is the arm64 Node, under qemu, on the bundle from the aarch64 zip.
    for (const [name, bundle] of [
      ['com.edgedr.Buffer', 'buffer-aarch64/main.js'],
      ['com.edgedr.Inference', 'inference-aarch64/main.js'],
    ] as const) {
      const qemu = pidInGroup(launcher.pid(name) ?? -1, 'qemu-aarch64');
      expect(qemu).toBeDefined();
      const cmdline = readFileSync(`/proc/${qemu ?? 0}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toContain((arm64 as { node: string }).node);
      expect(cmdline.some((a) => a.endsWith(bundle))).toBe(true);
    }

    const sensor = await connectClient(host, token);
    try {
      const sim = new PumpSimulator(7, ['pump-1'], Date.now() - 60_000);
      for (let i = 0; i < 60; i++)
        for (const r of sim.next())
          await sensor.publishToTopic({
            topic: `sensors/${r.deviceId}/telemetry`,
            publishMessage: { jsonMessage: { message: { ts: r.tsMs, ...r.measurements } } },
          });
    } finally {
      await sensor.close();
    }
    const store = join(launcher.workPath('com.edgedr.Buffer'), 'store', 'records.db');
    await eventually(
      () => readStore(store).records.length === 60,
      120_000,
      'readings stored by the arm64 Ingest',
    );
    await eventually(
      () =>
        documentsIn(messages, TOPICS.bufferMetrics).some(
          (m) => (m['lanes'] as { telemetry?: { depth?: number } })?.telemetry?.depth === 60,
        ),
      120_000,
      'the arm64 Buffer reading the store',
    );
    await eventually(
      () => documentsIn(messages, TOPICS.inferenceMetrics).some((m) => Number(m['windowsScored']) >= 50),
      120_000,
      'windows scored by the arm64 onnxruntime',
    );
    // The cross-compiled page-out.node loads in the arm64 Node (whether qemu acts on the advice or not).
    const pages = readFileSync(launcher.logPath('com.edgedr.Inference'), 'utf8')
      .split('\n')
      .find((l) => l.includes("onnxruntime's start-up pages"));
    expect(pages).toBeDefined();
    const { msg, reason } = JSON.parse(pages ?? '{}') as { msg?: string; reason?: string };
    if (msg !== "onnxruntime's start-up pages given back to the kernel")
      expect(reason ?? '').not.toMatch(/page-out\.node|pageOut/);
  });
});
