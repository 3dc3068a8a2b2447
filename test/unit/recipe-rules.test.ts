import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { interpolate, lifecycleKeyProblems } from '../../shared/src/runtime/host/recipe';

const RECIPES = join(__dirname, '..', '..', 'recipes');
const files = readdirSync(RECIPES).filter((f) => f.endsWith('.yaml'));

/** Top-level recipe keys gdk 1.6 knows (it lower-cases keys first and refuses any other). */
const GDK_TOP_LEVEL = new Set(
  [
    'RecipeFormatVersion',
    'ComponentName',
    'ComponentVersion',
    'ComponentDescription',
    'ComponentPublisher',
    'ComponentConfiguration',
    'ComponentDependencies',
    'ComponentType',
    'ComponentSource',
    'Manifests',
    'Lifecycle',
  ].map((k) => k.toLowerCase()),
);
const ARCHITECTURES = new Set(['amd64', 'aarch64', 'arm', 'x86']);
const variables = {
  componentName: 'c',
  thingName: 't',
  rootPath: '/r',
  artifactsPath: () => '/a',
  decompressedPath: () => '/d',
  workPath: () => '/w',
  configuration: () => ({}),
};

interface Manifest {
  Platform?: { os?: string; architecture?: string; runtime?: string };
  Lifecycle?: Record<string, string | Record<string, string>>;
  Artifacts?: { URI: string; Unarchive?: string }[];
}

describe.each(files)('recipe %s, as gdk and the nucleus read it', (file) => {
  const text = readFileSync(join(RECIPES, file), 'utf8');
  const recipe = parse(text) as Record<string, unknown> & { Manifests: Manifest[]; ComponentName: string };

  it('has only top-level keys gdk accepts, and is under 16,000 bytes', () => {
    for (const key of Object.keys(recipe)) expect(GDK_TOP_LEVEL.has(key.toLowerCase())).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThan(16_000);
    expect(recipe['RecipeFormatVersion']).toBe('2020-01-25');
    expect(recipe.ComponentName).not.toMatch(/^aws\.greengrass\./);
  });

  it('has a manifest per 64-bit Linux architecture, each for any runtime, with that platform artifact', () => {
    const platforms = recipe.Manifests.map((m) => m.Platform);
    expect(platforms.map((p) => p?.architecture).sort()).toEqual(['aarch64', 'amd64']);
    for (const m of recipe.Manifests) {
      expect(m.Platform).toMatchObject({ os: 'linux', runtime: '*' });
      expect(ARCHITECTURES.has(m.Platform?.architecture ?? '')).toBe(true);
      for (const a of m.Artifacts ?? []) {
        expect(a.URI).toMatch(
          new RegExp(
            `^s3://BUCKET_NAME/COMPONENT_NAME/COMPONENT_VERSION/[a-z]+-${m.Platform?.architecture ?? ''}\\.zip$`,
          ),
        );
        expect(a.Unarchive).toBe('ZIP');
      }
      const run = JSON.stringify(m.Lifecycle?.['run'] ?? '');
      const zip = (m.Artifacts ?? [])[0]?.URI.split('/')
        .at(-1)
        ?.replace(/\.zip$/, '');
      expect(run).toContain(`{artifacts:decompressedPath}/${zip ?? '?'}/main.js`);
      const install = JSON.stringify(m.Lifecycle?.['install'] ?? '');
      expect(install).toContain('needs Node.js >= 20');
      expect(install).toContain(
        `{artifacts:decompressedPath}/${zip ?? '?'}/install-check.js ${recipe.ComponentName}`,
      );
    }
  });

  it('spells its lifecycle as the recipe reference does (nucleus lite reads keys case-sensitively)', () => {
    for (const m of recipe.Manifests) expect(lifecycleKeyProblems(m.Lifecycle)).toEqual([]);
  });

  it('has brace-free scripts using only variables both nuclei replace', () => {
    const texts = recipe.Manifests.flatMap((m) =>
      Object.values(m.Lifecycle ?? {}).flatMap((step) =>
        typeof step === 'string' ? [step] : Object.values(step).filter((v) => typeof v === 'string'),
      ),
    );
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) {
      expect(interpolate(text, variables).errors).toEqual([]);
      expect(text.length).toBeLessThan(10_000); // nucleus lite: MAX_SCRIPT_LENGTH
    }
  });
});
