import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

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
/** Recipe variables Greengrass defines, for the component itself or another one (`<name>:…`). */
const VARIABLE =
  /^(?:[A-Za-z0-9._-]+:)?(?:artifacts:path|artifacts:decompressedPath|work:path|configuration:\/[^}]*)$|^(?:kernel:rootPath|iot:thingName)$/;

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
      const run = JSON.stringify(m.Lifecycle?.['Run'] ?? '');
      const zip = (m.Artifacts ?? [])[0]?.URI.split('/')
        .at(-1)
        ?.replace(/\.zip$/, '');
      expect(run).toContain(`{artifacts:decompressedPath}/${zip ?? '?'}/main.js`);
      expect(JSON.stringify(m.Lifecycle?.['Install'] ?? '')).toContain('needs Node.js >= 20');
    }
  });

  it('uses only variables Greengrass defines in its lifecycle', () => {
    const lifecycle = JSON.stringify(recipe.Manifests.map((m) => m.Lifecycle));
    const used = [...lifecycle.matchAll(/\{([^{}"]+)\}/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(0);
    for (const v of used) expect(v).toMatch(VARIABLE);
  });
});
