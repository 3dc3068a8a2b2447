import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { satisfies } from 'semver';
import { parse } from 'yaml';
import { deploymentDocument } from '../../scripts/deployment';
import { release } from '../../scripts/release';
import { bump, rewriteRecipe, suiteRange } from '../../scripts/suite-version.cjs';
import { REPO_ROOT } from '../support/child';
import { fakeZips, gdkBuild, gdkPublish } from '../support/gdk';
import { thrownBy } from '../support/thrown';
import { useTempDir } from '../support/temp-dir';

const SUITE = [
  'com.edgedr.Buffer',
  'com.edgedr.Inference',
  'com.edgedr.Ingest',
  'com.edgedr.Replay',
  'com.edgedr.Status',
];

interface Recipe {
  ComponentVersion: string;
  ComponentPublisher: string;
  ComponentDependencies?: Record<string, { VersionRequirement: string }>;
}

/** A copy of the files a release rewrites, so the test never touches the project's own. */
function copyTree(dir: string): string {
  for (const f of ['recipes', 'gdk-config.json', 'recipe.yaml'])
    cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
  for (const c of ['buffer', 'ingest', 'replay', 'inference']) {
    mkdirSync(join(dir, 'components', c, 'src'), { recursive: true });
    cpSync(
      join(REPO_ROOT, 'components', c, 'src', 'config.ts'),
      join(dir, 'components', c, 'src', 'config.ts'),
    );
  }
  return dir;
}

const spec = {
  thingGroupArn: 'arn:aws:iot:eu-central-1:123456789012:thinggroup/pump-stations',
  components: {},
};

describe('release: one version from recipes to gdk projects to the deployment', () => {
  const tempDir = useTempDir('ggdr-release-');

  it.each([
    ['0.1.0', 'patch', '0.1.1', '>=0.1.1 <0.2.0'],
    ['0.1.7', 'minor', '0.2.0', '>=0.2.0 <0.3.0'],
    ['0.9.1', 'major', '1.0.0', '>=1.0.0 <2.0.0'],
    ['1.4.2', 'minor', '1.5.0', '>=1.5.0 <2.0.0'],
  ] as const)('%s + %s = %s, suite range %s', (from, kind, to, range) => {
    expect(bump(from, kind)).toBe(to);
    expect(suiteRange(to, to)).toBe(range);
  });

  it('rewrites only version, publisher and suite dependency ranges, byte for byte elsewhere', () => {
    const text = readFileSync(join(REPO_ROOT, 'recipes', 'com.edgedr.Inference.yaml'), 'utf8');
    const out = rewriteRecipe(text, { version: '0.3.0', publisher: 'Pumps Ltd', range: '>=0.3.0 <0.4.0' });
    expect(out.suiteDependencies).toBe(2);
    const changed = text.split('\n').filter((l, i) => l !== out.text.split('\n')[i]);
    expect(changed.map((l) => l.trim().split(':')[0])).toEqual([
      'ComponentVersion',
      'ComponentPublisher',
      'VersionRequirement',
      'VersionRequirement',
    ]);
    expect(parse(out.text)).toMatchObject({ ComponentVersion: '0.3.0', ComponentPublisher: 'Pumps Ltd' });
  });

  it.each(['0.2.0', 'NEXT_PATCH'])(
    'at %s, for two regions: gdk builds and publishes components whose dependencies are met, and the deployment deploys what was published',
    (version) => {
      const root = copyTree(join(tempDir(), 'tree'));
      const gdkDir = join(tempDir(), 'gdk');
      const result = release({
        version,
        author: 'Pump Works GmbH',
        regions: ['eu-west-1', 'eu-central-1'],
        root,
        artifactsDir: fakeZips(join(tempDir(), 'zips'), version === 'NEXT_PATCH' ? '0.1.0' : version),
        gdkProjectsDir: gdkDir,
        manifestPath: join(tempDir(), 'release.json'),
      });
      expect(result.projects).toHaveLength(2 * SUITE.length);
      const recipes = Object.fromEntries(
        SUITE.map((c) => [c, parse(readFileSync(join(root, 'recipes', `${c}.yaml`), 'utf8')) as Recipe]),
      );
      const expectedRecipes = version === 'NEXT_PATCH' ? '0.1.0' : version;
      for (const r of Object.values(recipes))
        expect(r).toMatchObject({ ComponentVersion: expectedRecipes, ComponentPublisher: 'Pump Works GmbH' });
      expect(readFileSync(join(root, 'components', 'replay', 'src', 'config.ts'), 'utf8')).toContain(
        `REPLAY_VERSION = '${expectedRecipes}'`,
      );

      for (const region of ['eu-west-1', 'eu-central-1']) {
        // An empty account: NEXT_PATCH becomes 1.0.0 for every component.
        const account = new Map<string, string[]>();
        const published = new Map<string, Recipe>();
        for (const p of result.projects.filter((x) => x.region === region)) {
          gdkBuild(p.dir);
          const { name, recipe } = gdkPublish(p.dir, account);
          published.set(name, recipe as unknown as Recipe);
        }
        const versions = Object.fromEntries([...published].map(([n, r]) => [n, r.ComponentVersion]));
        expect(Object.values(versions)).toEqual(
          SUITE.map(() => (version === 'NEXT_PATCH' ? '1.0.0' : version)),
        );
        for (const [name, recipe] of published) {
          expect(recipe.ComponentPublisher).toBe('Pump Works GmbH');
          for (const [dep, d] of Object.entries(recipe.ComponentDependencies ?? {}))
            expect([name, dep, satisfies(versions[dep]!, d.VersionRequirement)]).toEqual([name, dep, true]);
        }
        const doc = deploymentDocument(
          { ...spec, thingGroupArn: spec.thingGroupArn.replace('eu-central-1', region) },
          {
            recipesDir: join(root, 'recipes'),
            rootConfigPath: join(root, 'gdk-config.json'),
            gdkProjectsDir: gdkDir,
          },
        );
        // The optional status page is deployed only when the spec names it (this one does not).
        const { 'com.edgedr.Status': _status, ...dataComponents } = versions;
        expect(
          Object.fromEntries(Object.entries(doc.components).map(([n, c]) => [n, c.componentVersion])),
        ).toEqual(dataComponents);
      }
    },
  );

  it('a release at the version already there changes no file (formatting included)', () => {
    const root = copyTree(join(tempDir(), 'tree'));
    release({
      version: '0.1.0',
      root,
      artifactsDir: fakeZips(join(tempDir(), 'zips')),
      gdkProjectsDir: join(tempDir(), 'gdk'),
      manifestPath: join(tempDir(), 'release.json'),
    });
    for (const f of ['gdk-config.json', 'recipe.yaml', ...SUITE.map((c) => `recipes/${c}.yaml`)])
      expect([f, readFileSync(join(root, f), 'utf8')]).toEqual([f, readFileSync(join(REPO_ROOT, f), 'utf8')]);
  });

  it('a later NEXT_PATCH in an account that has the components still meets the dependencies', () => {
    const root = copyTree(join(tempDir(), 'tree'));
    const gdkDir = join(tempDir(), 'gdk');
    const result = release({
      version: 'NEXT_PATCH',
      regions: ['eu-west-1'],
      root,
      artifactsDir: fakeZips(join(tempDir(), 'zips')),
      gdkProjectsDir: gdkDir,
      manifestPath: join(tempDir(), 'release.json'),
    });
    // The account holds 0.1.0 of each (the last fixed release): NEXT_PATCH becomes 0.1.1.
    const account = new Map(SUITE.map((c) => [c, ['0.1.0']]));
    const published = result.projects.map((p) => {
      gdkBuild(p.dir);
      return gdkPublish(p.dir, account);
    });
    const versions = Object.fromEntries(published.map((p) => [p.name, p.version]));
    expect(new Set(Object.values(versions))).toEqual(new Set(['0.1.1']));
    for (const p of published)
      for (const d of Object.entries((p.recipe as unknown as Recipe).ComponentDependencies ?? {}))
        expect(satisfies(versions[d[0]]!, d[1].VersionRequirement)).toBe(true);
  });

  it('refuses a deployment when recipes and gdk-config.json disagree, or NEXT_PATCH was not published yet', () => {
    const root = copyTree(join(tempDir(), 'tree'));
    const sources = {
      recipesDir: join(root, 'recipes'),
      rootConfigPath: join(root, 'gdk-config.json'),
      gdkProjectsDir: join(tempDir(), 'none'),
    };
    const config = readFileSync(sources.rootConfigPath, 'utf8');
    writeFileSync(sources.rootConfigPath, config.replace('"0.1.0"', '"0.4.0"'));
    expect((thrownBy(() => deploymentDocument(spec, sources)) as Error).message).toMatch(
      /gdk-config.json says version 0.4.0 but recipes\/: com.edgedr.Buffer is at 0.1.0.*npm run release -- --version 0.4.0/,
    );
    writeFileSync(sources.rootConfigPath, config.replace('"0.1.0"', '"NEXT_PATCH"'));
    expect((thrownBy(() => deploymentDocument(spec, sources)) as Error).message).toMatch(
      /NEXT_PATCH: gdk chooses com.edgedr.Buffer's version when it publishes/,
    );
    expect(() => release({ root, bump: 'patch', version: '1.0.0' })).toThrow(/either --version/);
    expect(() => release({ root, version: 'v2' })).toThrow(/semantic version/);
  });
});
