import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUILD_DIR } from '../../scripts/build-paths';
import { writeGdkProjects, type GdkConfig } from '../../scripts/gdk-projects';
import { REPO_ROOT } from '../support/child';
import { fakeZips, gdkBuild, gdkConfigProblems, recipeProblems } from '../support/gdk';
import { useTempDir } from '../support/temp-dir';

describe('gdk projects', () => {
  const tempDir = useTempDir('ggdr-gdk-');

  it('the root gdk-config.json and recipe.yaml satisfy gdk 1.6, and its build says what to run instead', () => {
    expect(gdkConfigProblems(JSON.parse(readFileSync(join(REPO_ROOT, 'gdk-config.json'), 'utf8')))).toEqual(
      [],
    );
    expect(gdkConfigProblems({ gdk_version: '1.6.0', component: { a: {}, b: {} } }).join()).toMatch(
      /more than 1 properties/,
    );
    expect(recipeProblems(readFileSync(join(REPO_ROOT, 'recipe.yaml'), 'utf8'))).toEqual([]);
    // gdk at the root: the recipe is there, so gdk empties root greengrass-build/ (nothing of the suite's
    // lives there) and runs the custom command, which fails with the line to run.
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'gdk-config.json'), 'utf8')) as GdkConfig;
    const [cmd, ...args] = Object.values(root.component)[0]!.build.custom_build_command ?? [];
    const run = spawnSync(cmd!, args, { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('npm run release -- --version');
    expect(BUILD_DIR).not.toMatch(/greengrass-build/);
  });

  it('writes a project per component and region that gdk accepts, whose build stages recipe and zips', () => {
    const source = fakeZips(join(tempDir(), 'artifacts'));
    const projects = writeGdkProjects(join(tempDir(), 'gdk'), source, {
      regions: ['eu-west-1', 'eu-central-1'],
    });
    expect(projects.map((p) => `${p.region} ${p.component}`).sort()).toEqual(
      ['eu-central-1', 'eu-west-1'].flatMap((r) =>
        [
          'com.edgedr.Buffer',
          'com.edgedr.Inference',
          'com.edgedr.Ingest',
          'com.edgedr.Replay',
          'com.edgedr.Status',
        ].map((c) => `${r} ${c}`),
      ),
    );
    const shared = Object.values(
      (JSON.parse(readFileSync(join(REPO_ROOT, 'gdk-config.json'), 'utf8')) as GdkConfig).component,
    )[0]!;
    for (const { component, region, dir } of projects) {
      const config = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8')) as GdkConfig;
      expect(gdkConfigProblems(config)).toEqual([]);
      expect(Object.keys(config.component)).toEqual([component]);
      expect(config.component[component]).toMatchObject({
        author: shared.author,
        version: shared.version,
        publish: { bucket: shared.publish.bucket, region },
      });
      const { name, version } = gdkBuild(dir);
      const text = readFileSync(join(dir, 'greengrass-build', 'recipes', 'recipe.yaml'), 'utf8');
      expect(recipeProblems(text)).toEqual([]);
      // gdk publish refuses a recipe whose name differs from the gdk-config key.
      expect(parse(text)).toMatchObject({
        ComponentName: name,
        ComponentVersion: version,
        ComponentPublisher: shared.author,
      });
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

  it('stops with one line when the artifacts were not built, or were built at another version', () => {
    const [project] = writeGdkProjects(join(tempDir(), 'gdk'), join(tempDir(), 'nothing-here'));
    expect(() => gdkBuild(project!.dir)).toThrow(/run npm run build:components/);
    const [stale] = writeGdkProjects(join(tempDir(), 'gdk2'), fakeZips(join(tempDir(), 'old'), '0.0.9'));
    expect(() => gdkBuild(stale!.dir)).toThrow(/built at 0.0.9, this recipe is at 0.1.0/);
    expect(() => execFileSync('node', ['gdk-stage.cjs'], { cwd: project!.dir, stdio: 'pipe' })).toThrow(
      /usage/,
    );
  });
});
