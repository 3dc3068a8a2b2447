import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeGdkProjects, type GdkConfig } from '../../scripts/gdk-projects';
import { REPO_ROOT } from '../support/child';
import { useTempDir } from '../support/temp-dir';

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const BUILD_SYSTEMS = new Set(['zip', 'maven', 'gradle', 'gradlew', 'custom']);

/** gdk 1.6's rules for gdk-config.json (GREENGRASS.md, "gdk"): the problems found. */
function gdkProblems(raw: unknown): string[] {
  const problems: string[] = [];
  const c = raw as Partial<GdkConfig>;
  if (typeof c.gdk_version !== 'string') problems.push('gdk_version missing');
  const names = Object.keys(c.component ?? {});
  if (names.length !== 1) problems.push(`component must hold exactly one key, has ${names.length}`);
  for (const name of names) {
    const s = c.component?.[name];
    if (typeof s?.author !== 'string') problems.push(`${name}: author missing`);
    if (typeof s?.version !== 'string' || !(SEMVER.test(s.version) || s.version === 'NEXT_PATCH'))
      problems.push(`${name}: version must be semver or NEXT_PATCH`);
    if (!BUILD_SYSTEMS.has(s?.build?.build_system ?? '')) problems.push(`${name}: unknown build_system`);
    if (s?.build?.build_system === 'custom') {
      const cmd = s.build.custom_build_command;
      if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((x) => typeof x === 'string'))
        problems.push(`${name}: custom_build_command must be an array of strings`);
    }
    if (typeof s?.publish?.bucket !== 'string' || s.publish.bucket === '')
      problems.push(`${name}: publish.bucket missing`);
  }
  return problems;
}

/** What `gdk component build` does around a custom build: recreate the folders, run the command without a shell. */
function gdkBuild(dir: string): { name: string; version: string } {
  const config = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8')) as GdkConfig;
  const [name, settings] = Object.entries(config.component)[0]!;
  expect(existsSync(join(dir, 'recipe.yaml'))).toBe(true);
  rmSync(join(dir, 'greengrass-build'), { recursive: true, force: true });
  mkdirSync(join(dir, 'greengrass-build', 'recipes'), { recursive: true });
  mkdirSync(join(dir, 'greengrass-build', 'artifacts', name, settings.version), { recursive: true });
  const [cmd, ...args] = settings.build.custom_build_command ?? [];
  execFileSync(cmd!, args, { cwd: dir, stdio: 'pipe' });
  return { name, version: settings.version };
}

describe('gdk projects', () => {
  const tempDir = useTempDir('ggdr-gdk-');

  it('the root gdk-config.json (the shared settings) satisfies gdk 1.6', () => {
    expect(gdkProblems(JSON.parse(readFileSync(join(REPO_ROOT, 'gdk-config.json'), 'utf8')))).toEqual([]);
    expect(gdkProblems({ gdk_version: '1.6.0', component: { a: {}, b: {} } })).toContain(
      'component must hold exactly one key, has 2',
    );
  });

  it('writes one project per component that gdk accepts and whose build puts recipe and artifacts in place', () => {
    // The zips the build step copies (their contents are the artifact test's business, not this one's).
    const source = join(tempDir(), 'artifacts');
    mkdirSync(source);
    for (const c of ['buffer', 'ingest', 'replay', 'inference', 'status'])
      for (const p of ['aarch64', 'amd64']) writeFileSync(join(source, `${c}-${p}.zip`), `${c} ${p}`);
    const projects = writeGdkProjects(join(tempDir(), 'gdk'), source);
    expect([...projects.keys()].sort()).toEqual([
      'com.edgedr.Buffer',
      'com.edgedr.Inference',
      'com.edgedr.Ingest',
      'com.edgedr.Replay',
      'com.edgedr.Status',
    ]);
    const shared = Object.values(
      (JSON.parse(readFileSync(join(REPO_ROOT, 'gdk-config.json'), 'utf8')) as GdkConfig).component,
    )[0]!;
    for (const [component, dir] of projects) {
      const config = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8')) as GdkConfig;
      expect(gdkProblems(config)).toEqual([]);
      expect(Object.keys(config.component)).toEqual([component]);
      expect(config.component[component]).toMatchObject({
        author: shared.author,
        version: shared.version,
        publish: shared.publish,
      });
      const { name, version } = gdkBuild(dir);
      const recipe = parse(readFileSync(join(dir, 'greengrass-build', 'recipes', 'recipe.yaml'), 'utf8')) as {
        ComponentName: string;
        ComponentVersion: string;
      };
      // gdk publish refuses a recipe whose name differs from the gdk-config key.
      expect(recipe).toMatchObject({ ComponentName: name, ComponentVersion: version });
      const short = component.replace('com.edgedr.', '').toLowerCase();
      for (const p of ['aarch64', 'amd64'])
        expect(
          readFileSync(
            join(dir, 'greengrass-build', 'artifacts', name, version, `${short}-${p}.zip`),
            'utf8',
          ),
        ).toBe(`${short} ${p}`);
    }
  });

  it('stops with one line when the artifacts were not built', () => {
    const projects = writeGdkProjects(join(tempDir(), 'gdk'), join(tempDir(), 'nothing-here'));
    const dir = projects.get('com.edgedr.Buffer')!;
    expect(() => gdkBuild(dir)).toThrow(/run npm run build:components/);
  });
});
