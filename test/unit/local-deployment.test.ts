import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { writeLocalDeployment } from '../../scripts/local-deployment';
import { REPO_ROOT } from '../support/child';
import { useTempDir } from '../support/temp-dir';

describe('local deployment into a Greengrass dev container', () => {
  const tempDir = useTempDir('ggdr-localdep-');

  function builtZips(platform: string): string {
    // The zips the layout copies (their contents are the artifact test's business, not this one's).
    const dir = join(tempDir(), 'built');
    mkdirSync(dir, { recursive: true });
    for (const c of ['buffer', 'ingest', 'replay', 'inference', 'status'])
      writeFileSync(join(dir, `${c}-${platform}.zip`), c);
    return dir;
  }

  it('lays out recipes and this platform artifacts as greengrass-cli reads them, with the command and config merges', () => {
    const spec = parse(
      readFileSync(join(REPO_ROOT, 'docs', 'examples', 'deployment.yaml'), 'utf8'),
    ) as unknown;
    const out = join(tempDir(), 'local');
    const result = writeLocalDeployment({
      artifactsSource: builtZips('amd64'),
      outDir: out,
      platform: 'amd64',
      containerPath: '/edgedr',
      spec,
    });
    // The example spec names the optional status page too.
    const names = [
      'com.edgedr.Buffer',
      'com.edgedr.Inference',
      'com.edgedr.Ingest',
      'com.edgedr.Replay',
      'com.edgedr.Status',
    ];
    expect(Object.keys(result.components).sort()).toEqual(names);
    expect(readdirSync(join(out, 'recipes')).sort()).toEqual(names.map((n) => `${n}-0.1.0.yaml`));
    for (const n of names) {
      const recipe = parse(readFileSync(join(out, 'recipes', `${n}-0.1.0.yaml`), 'utf8')) as {
        ComponentName: string;
      };
      expect(recipe.ComponentName).toBe(n);
      const short = n.replace('com.edgedr.', '').toLowerCase();
      expect(readdirSync(join(out, 'artifacts', n, '0.1.0'))).toEqual([`${short}-amd64.zip`]);
      expect(result.command.join(' ')).toContain(`--merge ${n}=0.1.0`);
    }
    expect(result.command.slice(0, 7)).toEqual([
      '/greengrass/v2/bin/greengrass-cli',
      'deployment',
      'create',
      '--recipeDir',
      '/edgedr/recipes',
      '--artifactDir',
      '/edgedr/artifacts',
    ]);
    const config = JSON.parse(readFileSync(join(out, 'update-config.json'), 'utf8')) as Record<
      string,
      { MERGE: unknown }
    >;
    expect(config['com.edgedr.Replay']?.MERGE).toMatchObject({
      regions: [{ name: 'eu-west-1' }, { name: 'eu-central-1' }],
    });
    expect(result.command).toContain('/edgedr/update-config.json');
  });

  it('says which build is missing', () => {
    expect(() =>
      writeLocalDeployment({
        artifactsSource: join(tempDir(), 'none'),
        outDir: join(tempDir(), 'local'),
        platform: 'amd64',
        containerPath: '/edgedr',
      }),
    ).toThrow(/npm run build:components -- --platform amd64/);
    expect(existsSync(join(tempDir(), 'local', 'update-config.json'))).toBe(false);
  });
});
