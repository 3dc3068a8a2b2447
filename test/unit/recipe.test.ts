import { join } from 'node:path';
import {
  interpolate,
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
  it('replaces the recipe variables Greengrass defines', () => {
    const { text, unknown } = interpolate(
      'node {artifacts:decompressedPath}/ingest/main.js {work:path} {kernel:rootPath} {iot:thingName} ' +
        '{configuration:/own} {com.edgedr.Buffer:work:path}/{com.edgedr.Buffer:configuration:/storePath} ' +
        '{com.edgedr.Buffer:configuration:/n} {com.edgedr.Buffer:configuration:/a~1b} {artifacts:path}',
      ctx,
    );
    expect(text).toBe(
      'node /gg/packages/artifacts-unarchived/com.edgedr.Ingest/1.0.0/ingest/main.js /gg/work/com.edgedr.Ingest /gg gw-7 ' +
        'yes /gg/work/com.edgedr.Buffer/store/r.db {"x":3} slash /gg/packages/artifacts/com.edgedr.Ingest/1.0.0',
    );
    expect(unknown).toEqual([]);
  });

  it('leaves unknown variables and shell braces alone and reports the variables', () => {
    const { text, unknown } = interpolate('echo {nope:thing} { echo x; } {configuration:/missing}', ctx);
    expect(text).toBe('echo {nope:thing} { echo x; } {configuration:/missing}');
    expect(unknown).toEqual(['{nope:thing}', '{configuration:/missing}']);
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
