import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { parse, stringify } from 'yaml';
import type { GdkConfig } from '../../scripts/gdk-projects';
import { REPO_ROOT } from './child';

/**
 * What gdk 1.6 does with a project, from its documented behaviour and its own schemas
 * (../shared/greengrass/): gdk itself is a Python tool that cannot be installed here.
 */
const SCHEMAS = join(REPO_ROOT, '..', 'shared', 'greengrass');

function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]));
  return value;
}

function validator(file: string): (value: unknown) => string[] {
  // gdk's patterns use Python's inline (?i): strip it and compile with the i flag instead.
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    code: {
      regExp: Object.assign(
        (pattern: string, flags: string) =>
          pattern.startsWith('(?i)') ? new RegExp(pattern.slice(4), `${flags}i`) : new RegExp(pattern, flags),
        { code: 'new RegExp' },
      ),
    },
  });
  const validate = ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, file), 'utf8')) as object);
  return (value) =>
    validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

export const gdkConfigProblems = validator('gdk-config.schema.json');
const recipeValidator = validator('recipe.schema.json');
/** gdk lower-cases every key of a recipe before it validates it, and refuses recipes over 16,000 bytes. */
export function recipeProblems(text: string): string[] {
  const problems = recipeValidator(lowerKeys(parse(text)));
  if (Buffer.byteLength(text) > 16_000) problems.push('larger than 16,000 bytes');
  return problems;
}

export function readGdkConfig(dir: string): { name: string; settings: GdkConfig['component'][string] } {
  const config = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8')) as GdkConfig;
  const [name, settings] = Object.entries(config.component)[0]!;
  return { name, settings };
}

/**
 * `gdk component build` around a custom build: validate gdk-config.json, require a recipe beside it,
 * empty and recreate greengrass-build/ (recipes/ and artifacts/<name>/<version>/), then run the command
 * without a shell, failing when it fails.
 */
export function gdkBuild(dir: string): { name: string; version: string } {
  const raw = JSON.parse(readFileSync(join(dir, 'gdk-config.json'), 'utf8')) as unknown;
  const problems = gdkConfigProblems(raw);
  if (problems.length > 0) throw new Error(`gdk-config.json: ${problems.join('; ')}`);
  const { name, settings } = readGdkConfig(dir);
  if (!existsSync(join(dir, 'recipe.yaml')) && !existsSync(join(dir, 'recipe.json')))
    throw new Error('gdk: no recipe file in the project');
  rmSync(join(dir, 'greengrass-build'), { recursive: true, force: true });
  mkdirSync(join(dir, 'greengrass-build', 'recipes'), { recursive: true });
  mkdirSync(join(dir, 'greengrass-build', 'artifacts', name, settings.version), { recursive: true });
  const [cmd, ...args] = settings.build.custom_build_command ?? [];
  execFileSync(cmd!, args, { cwd: dir, stdio: 'pipe' });
  return { name, version: settings.version };
}

/**
 * `gdk component publish`: the version (NEXT_PATCH: the next patch of the highest in the account, or
 * 1.0.0), the recipe validated, ComponentVersion and s3 artifact URIs set (nothing else: not the
 * publisher), written to greengrass-build/recipes/<name>-<version>.yaml, and the version registered.
 */
export function gdkPublish(
  dir: string,
  account: Map<string, string[]>,
): { name: string; version: string; recipe: Record<string, unknown> } {
  const { name, settings } = readGdkConfig(dir);
  const built = join(dir, 'greengrass-build', 'recipes', 'recipe.yaml');
  const text = readFileSync(built, 'utf8');
  const problems = recipeProblems(text);
  if (problems.length > 0) throw new Error(`recipe: ${problems.join('; ')}`);
  const recipe = parse(text) as Record<string, unknown> & { Manifests: { Artifacts?: { URI: string }[] }[] };
  if (recipe['ComponentName'] !== name) throw new Error(`Failed to publish the component '${name}'`);
  const existing = account.get(name) ?? [];
  let version = settings.version;
  if (version === 'NEXT_PATCH') {
    const highest = [...existing].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1);
    const parts = (highest ?? '').split('.').map(Number);
    version = highest === undefined ? '1.0.0' : `${parts[0]}.${parts[1]}.${(parts[2] ?? 0) + 1}`;
  }
  const artifacts = join(dir, 'greengrass-build', 'artifacts', name, settings.version);
  const bucket = `${settings.publish.bucket}-${settings.publish.region ?? 'us-east-1'}-123456789012`;
  recipe['ComponentVersion'] = version;
  for (const m of recipe.Manifests)
    for (const a of m.Artifacts ?? []) {
      const file = a.URI.split('/').at(-1) ?? '';
      if (readdirSync(artifacts).includes(file)) a.URI = `s3://${bucket}/${name}/${version}/${file}`;
    }
  writeFileSync(join(dir, 'greengrass-build', 'recipes', `${name}-${version}.yaml`), stringify(recipe));
  account.set(name, [...existing, version]);
  return { name, version, recipe };
}

/** Stand-ins for the zips `npm run build:components` writes (their contents are the artifact test's business). */
export function fakeZips(dir: string, version = '0.1.0'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'build-version.json'), JSON.stringify({ version }));
  for (const c of ['buffer', 'ingest', 'replay', 'inference', 'status'])
    for (const p of ['aarch64', 'amd64']) writeFileSync(join(dir, `${c}-${p}.zip`), `${c} ${p}`);
  return dir;
}
