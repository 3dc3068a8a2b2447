import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildComponents, type BuiltArtifact, type Platform } from '../../scripts/build-components';
import { sourceMapPath, stackDecoder } from '../../scripts/stack';
import { componentOfArtifact } from '../../shared/src/runtime/host/local-artifacts';
import { loadRecipe } from '../../shared/src/runtime/host/recipe';
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
      // Source maps and type declarations of the packages: nothing on the gateway reads them.
      expect(entries.filter((e) => /\.(map|d\.[cm]?ts)$/.test(e))).toEqual([]);
    }
    const inference = built.find((b) => b.component === 'com.edgedr.Inference');
    expect(inference?.nativePackages).toEqual(['aws-crt', 'onnxruntime-node']);
    expect(execFileSync('unzip', ['-Z1', inference!.zip]).toString()).toContain('models/default.onnx');
  });

  it("keeps each bundle's source map out of its zip, and maps a gateway's stack trace back to the source", () => {
    const maps = join(out, 'sourcemaps');
    for (const b of built) {
      const artifact = basename(b.zip, '.zip');
      expect(execFileSync('unzip', ['-Z1', b.zip]).toString().split('\n')).not.toContain('main.js.map');
      const bundle = execFileSync('unzip', ['-p', b.zip, 'main.js'], { maxBuffer: 64 * 1024 * 1024 });
      const sha256 = createHash('sha256').update(bundle).digest('hex');
      const info = JSON.parse(execFileSync('unzip', ['-p', b.zip, 'build-info.json']).toString()) as {
        bundleSha256: string;
      };
      expect(info.bundleSha256).toBe(sha256);
      const version = loadRecipe(join(REPO_ROOT, 'recipes', `${b.component}.yaml`)).ComponentVersion;
      const map = JSON.parse(
        readFileSync(sourceMapPath(maps, b.component, version, artifact, sha256), 'utf8'),
      ) as {
        x_bundleSha256: string;
        sources: string[];
      };
      expect(map.x_bundleSha256).toBe(sha256);
      expect(map.sources).toContain(`components/${componentOfArtifact(artifact)}/src/main.ts`);
    }

    // A real fault: the Status bundle unpacked where the nucleus puts it, started outside Greengrass.
    const status = built.find((b) => b.component === 'com.edgedr.Status')!;
    const artifact = basename(status.zip, '.zip');
    const version = loadRecipe(join(REPO_ROOT, 'recipes', 'com.edgedr.Status.yaml')).ComponentVersion;
    const dir = join(tempDir(), 'packages', 'artifacts-unarchived', status.component, version, artifact);
    mkdirSync(dir, { recursive: true });
    execFileSync('unzip', ['-q', status.zip, '-d', dir]);
    const run = spawnSync(process.execPath, [join(dir, 'main.js')], {
      env: { PATH: process.env['PATH'] ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    const log = `${run.stdout}${run.stderr}`;
    expect(log).toMatch(new RegExp(`${artifact}/main\\.js:\\d+:\\d+`));
    const sha256 = createHash('sha256')
      .update(readFileSync(join(dir, 'main.js')))
      .digest('hex');
    const fatal = JSON.parse(log.split('\n')[0]!) as { msg: string; bundleSha256: string };
    expect(fatal).toMatchObject({ msg: 'stopping after a fatal fault', bundleSha256: sha256 });

    // The frame of the throw, at the line and column of the source that throws.
    const source = readFileSync(join(REPO_ROOT, 'shared/src/runtime/greengrass-ipc-runtime.ts'), 'utf8');
    const lines = source.split('\n');
    const at = lines.findIndex((l) => l.includes('is not set: is this process running under Greengrass?'));
    const thrown = `shared/src/runtime/greengrass-ipc-runtime.ts:${at + 1}:${lines[at]!.indexOf('new DrError') + 1} [${artifact} `;
    const decoder = stackDecoder(maps);
    const decoded = decoder.decode(log);
    expect(decoder.unmapped).toEqual([]);
    expect(decoded).toContain(thrown);
    expect(decoded).toMatch(
      new RegExp(`\\(components/status/src/main\\.ts:\\d+:\\d+ \\[${artifact} \\d+:\\d+\\]\\)`),
    );
    expect(JSON.parse(decoded.split('\n')[0]!)).toMatchObject({ msg: 'stopping after a fatal fault' });

    // The frame alone, as pasted from a terminal: under a path with a space, and published by gdk under
    // another version than the recipes' (a NEXT_PATCH release), picked by the logged digest.
    const frame = /\(([^()]*\/main\.js:\d+:\d+)\)/.exec(log)?.[1] ?? '';
    const position = /main\.js:(\d+):(\d+)$/.exec(frame)!;
    const pasted = `    at required2 (/home/gg user/com.edgedr.Status/1.0.0/${artifact}/main.js:${position[1]}:${position[2]})`;
    expect(stackDecoder(maps, { sha256 }).decode(pasted)).toBe(
      `    at required2 (${thrown}${position[1]}:${position[2]}])`,
    );
    expect(stackDecoder(maps, { version }).decode(pasted)).toContain(thrown);
    const noMap = stackDecoder(maps);
    expect(noMap.decode(pasted)).toBe(pasted);
    expect(noMap.unmapped).toEqual([expect.stringContaining('no map of version 1.0.0')]);

    // Another build of the same version: without the digest the map is not guessed.
    const other = sourceMapPath(maps, status.component, version, artifact, 'f'.repeat(64));
    writeFileSync(other, readFileSync(sourceMapPath(maps, status.component, version, artifact, sha256)));
    const bare = pasted.replace('/1.0.0/', `/${version}/`);
    const ambiguous = stackDecoder(maps);
    expect(ambiguous.decode(bare)).toBe(bare);
    expect(ambiguous.unmapped).toEqual([expect.stringContaining(`2 builds of version ${version}`)]);
    expect(stackDecoder(maps, { sha256 }).decode(bare)).toContain(thrown);
    rmSync(other);

    // A line the bundle does not have (another build's) is left, not mapped to a wrong place.
    const beyond = stackDecoder(maps, { sha256 });
    const past = `    at x (/gg/com.edgedr.Status/${version}/${artifact}/main.js:99999:1)`;
    expect(beyond.decode(past)).toBe(past);
    expect(beyond.unmapped).toEqual([expect.stringContaining('not in the map of bundle')]);
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
