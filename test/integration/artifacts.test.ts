import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildComponents, type BuiltArtifact, type Platform } from '../../scripts/build-components';
import { ComponentLauncher } from '../../shared/src/runtime/host/launcher';
import { REPO_ROOT } from '../support/child';
import { captureLogger, startHost } from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(300_000);

const HOST_PLATFORM: Platform = arch() === 'arm64' ? 'aarch64' : 'amd64';
const OTHER =
  HOST_PLATFORM === 'amd64' ? /linux-arm64|linux\/arm64|darwin|win32/ : /linux-x64|linux\/x64|darwin|win32/;
const COMPONENTS = [
  'com.edgedr.Buffer',
  'com.edgedr.Ingest',
  'com.edgedr.Inference',
  'com.edgedr.Replay',
  'com.edgedr.Status',
];

describe('built artifacts', () => {
  const tempDir = useTempDir('ggdr-artifacts-');
  let built: BuiltArtifact[] = [];
  // One build for both tests, in a directory of its own.
  const out = mkdtempSync(join(tmpdir(), 'ggdr-artifacts-build-'));
  beforeAll(async () => {
    built = await buildComponents([HOST_PLATFORM], out);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** The local IPC host and a launcher that runs components from the built zips in `artifacts`. */
  async function gatewayOver(artifacts: string) {
    const logs = captureLogger();
    const host = await startHost(tempDir(), logs.logger);
    const launcher = new ComponentLauncher({
      host,
      projectRoot: REPO_ROOT,
      rootDir: join(tempDir(), 'gateway'),
      recipesDir: join(REPO_ROOT, 'recipes'),
      thingName: 'gw-artifacts',
      region: 'eu-west-1',
      logger: logs.logger,
      prebuiltArtifactsDir: artifacts,
      restartDelayMs: 100,
      // Any free port: a test binds nothing fixed.
      overrides: { 'com.edgedr.Status': { port: 0 } },
    });
    return { host, launcher };
  }

  it('builds one zip per component, with only this platform native binaries', () => {
    expect(built.map((b) => b.component).sort()).toEqual([...COMPONENTS].sort());
    for (const b of built) {
      const entries = execFileSync('unzip', ['-Z1', b.zip]).toString().split('\n');
      expect(entries).toContain('main.js');
      expect(entries).toContain('build-info.json');
      expect(entries).toContain('install-check.js');
      expect(entries.filter((e) => OTHER.test(e))).toEqual([]);
      expect(entries.some((e) => e.startsWith('node_modules/prebuild-install/'))).toBe(false);
    }
    const inference = built.find((b) => b.component === 'com.edgedr.Inference');
    expect(inference?.nativePackages).toEqual(['aws-crt', 'onnxruntime-node']);
    expect(execFileSync('unzip', ['-Z1', inference!.zip]).toString()).toContain('models/default.onnx');
  });

  it('runs every component from its unpacked zip under the local IPC host, with nothing but Node', async () => {
    const { host, launcher } = await gatewayOver(join(out, 'artifacts'));
    try {
      await launcher.launch(['com.edgedr.Buffer']);
      await launcher.waitForState('com.edgedr.Buffer', 'RUNNING', 30_000);
      await launcher.launch(COMPONENTS.slice(1));
      for (const name of COMPONENTS) await launcher.waitForState(name, 'RUNNING', 60_000);
    } finally {
      await launcher.stopAll();
      await host.stop();
    }
  });

  it.each([
    [
      'another Node ABI',
      { abiBound: true, node: 'v99.0.0', modules: '999' },
      'com.edgedr.Buffer: was built for Node v99.0.0 (ABI 999)',
    ],
    [
      'a newer glibc',
      { glibc: '9.99' },
      'com.edgedr.Buffer: needs glibc >= 9.99 (Debian 12, Raspberry Pi OS 12 or later), found 2.',
    ],
  ])('refuses, at Install, artifacts built for %s, with one line saying so', async (_what, change, line) => {
    // Re-pack the Buffer zip as if it had been built elsewhere.
    const buffer = built.find((b) => b.component === 'com.edgedr.Buffer')!;
    const unpacked = join(tempDir(), 'repack');
    execFileSync('unzip', ['-q', buffer.zip, '-d', unpacked]);
    const info = JSON.parse(readFileSync(join(unpacked, 'build-info.json'), 'utf8')) as object;
    writeFileSync(join(unpacked, 'build-info.json'), JSON.stringify({ ...info, ...change }));
    const artifacts = join(tempDir(), 'artifacts');
    mkdirSync(artifacts);
    execFileSync('zip', ['-qr', join(artifacts, basename(buffer.zip)), '.'], { cwd: unpacked });

    const { host, launcher } = await gatewayOver(artifacts);
    try {
      await launcher.launch(['com.edgedr.Buffer']);
      await launcher.waitForState('com.edgedr.Buffer', 'BROKEN', 30_000);
      expect(readFileSync(launcher.logPath('com.edgedr.Buffer'), 'utf8')).toContain(line);
    } finally {
      await launcher.stopAll();
      await host.stop();
    }
  });
});
