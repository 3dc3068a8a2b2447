import { join } from 'node:path';
import {
  interpolate,
  lifecycleKeyProblems,
  loadRecipe,
  nucleusArchitecture,
  selectManifest,
  type Recipe,
} from '../../shared/src/runtime/host/recipe';

const ctx = {
  componentName: 'com.edgedr.Ingest',
  thingName: 'gw-7',
  rootPath: '/gg',
  artifactsPath: (c: string) => `/gg/packages/artifacts/${c}/1.0.0`,
  decompressedPath: (c: string) => `/gg/packages/artifacts-unarchived/${c}/1.0.0`,
  workPath: (c: string) => `/gg/work/${c}`,
  configuration: (c: string) =>
    c === 'com.edgedr.Buffer' ? { storePath: 'store/r.db', n: { x: 3 }, 'a/b': 'slash' } : { own: 'yes' },
};

describe('recipes', () => {
  it('replaces the recipe variables both nuclei define', () => {
    const { text, errors } = interpolate(
      'node {artifacts:decompressedPath}/ingest/main.js {work:path} {kernel:rootPath} {iot:thingName} ' +
        '{configuration:/own} {kernel:rootPath}/work/com.edgedr.Buffer {artifacts:path}',
      ctx,
    );
    expect(text).toBe(
      'node /gg/packages/artifacts-unarchived/com.edgedr.Ingest/1.0.0/ingest/main.js /gg/work/com.edgedr.Ingest /gg gw-7 ' +
        'yes /gg/work/com.edgedr.Buffer /gg/packages/artifacts/com.edgedr.Ingest/1.0.0',
    );
    expect(errors).toEqual([]);
  });

  it.each([
    [
      'a shell group',
      'test -x node || { echo no; exit 1; }',
      'No : found in recipe variable: { echo no; exit 1; }',
    ],
    [
      'a JavaScript block',
      "node -e 'if (x) { process.exit(1) }'",
      'No : found in recipe variable: { process.exit(1) }',
    ],
    [
      'a component-prefixed form',
      'echo {com.edgedr.Buffer:work:path}',
      'Unhandled variable substitution: {com.edgedr.Buffer:work:path}',
    ],
    ['an unknown variable', 'echo {nope:thing}', 'Unhandled variable substitution: {nope:thing}'],
    [
      'a missing configuration key',
      'echo {configuration:/missing}',
      'configuration key not found: {configuration:/missing}',
    ],
    ['an unterminated brace', 'echo {work:path', 'recipe variable not terminated: {work:path'],
  ])('refuses %s, as nucleus lite does', (_what, script, error) => {
    expect(interpolate(script, ctx).errors).toEqual([error]);
  });

  it('refuses lifecycle keys nucleus lite would not find', () => {
    expect(lifecycleKeyProblems({ Install: 'x', run: { Script: 'y', setenv: {} }, Setenv: {} })).toEqual([
      'Lifecycle.Install must be spelled install: nucleus lite reads recipe keys case-sensitively',
      'Lifecycle.run.setenv must be spelled Setenv: nucleus lite reads recipe keys case-sensitively',
    ]);
    expect(lifecycleKeyProblems({ Restart: 'x' })).toEqual([
      'Lifecycle.Restart is not a lifecycle key (Setenv, install, run, startup, shutdown, recover, bootstrap)',
    ]);
    expect(
      lifecycleKeyProblems({ install: 'a', run: { Script: 'b', Timeout: 3 }, Setenv: { A: 'b' } }),
    ).toEqual([]);
  });

  it('selects the first manifest for the platform the nucleus reports', () => {
    expect(nucleusArchitecture('x64')).toBe('amd64');
    expect(nucleusArchitecture('arm64')).toBe('aarch64');
    const recipe = loadRecipe(join(__dirname, '..', '..', 'recipes', 'com.edgedr.Buffer.yaml'));
    expect(selectManifest(recipe, 'linux', 'aarch64')?.Platform?.architecture).toBe('aarch64');
    expect(selectManifest(recipe, 'linux', 'amd64')?.Platform?.architecture).toBe('amd64');
    expect(selectManifest(recipe, 'linux', 'arm')).toBeUndefined();
    const anyArch: Recipe = { ...recipe, Manifests: [{ Platform: { os: 'linux' } }] };
    expect(selectManifest(anyArch, 'linux', 'arm')).toBeDefined();
  });
});
