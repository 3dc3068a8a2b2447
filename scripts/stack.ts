/**
 * Stack traces from a gateway's logs, back in the source: `npm run stack -- [--maps DIR] [--version V] [FILE...]`
 * (standard input without FILE). Every position in a bundle, `…/<component>/<version>/<artifact>/main.js:L:C`
 * as the nucleus unpacks a zip, is replaced by the source file and line it was built from, with the
 * bundle position kept beside it; the rest of the text (JSON log lines included) passes unchanged.
 *
 * The maps are written by the build (`npm run build:components`, `npm run release`) to
 * build/sourcemaps/<component>/<version>/<artifact>.js.map and never go into the zips: a gateway would
 * only carry megabytes it does not use. Keep them with each release. Each map carries the SHA-256 of
 * the bundle it belongs to (`x_bundleSha256`; the zip's build-info.json has the same as `bundleSha256`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join, resolve } from 'node:path';
import { argValue } from '../dev/args';
import { BUILD_DIR } from './build-paths';

export const SOURCE_MAPS_DIR = join(BUILD_DIR, 'sourcemaps');

/** Where the build puts an artifact's map. */
export function sourceMapPath(mapsDir: string, component: string, version: string, artifact: string): string {
  return join(mapsDir, component, version, `${artifact}.js.map`);
}

/** A bundle position: the folder path before the artifact (its last two parts are component and version). */
const POSITION = /((?:[^\s()'"`]*\/)?)([a-z0-9-]+-(?:amd64|aarch64))\/main\.js:(\d+):(\d+)/g;

export interface Decoder {
  /** The text with every bundle position it has a map for replaced. */
  decode(text: string): string;
  /** Positions left as they were, with why (no map for that artifact and version, or none in the map). */
  readonly unmapped: string[];
}

/**
 * A decoder over the maps under `mapsDir`. A position's version comes from its path; a path without one
 * (a local run) takes `version`, or the only version built for that artifact.
 */
export function stackDecoder(mapsDir: string, version?: string): Decoder {
  const maps = new Map<string, SourceMap | null>();
  const unmapped: string[] = [];
  const versionsOf = (artifact: string): { component: string; version: string }[] => {
    if (!existsSync(mapsDir)) return [];
    const out: { component: string; version: string }[] = [];
    for (const component of readdirSync(mapsDir))
      for (const v of readdirSync(join(mapsDir, component)))
        if (existsSync(sourceMapPath(mapsDir, component, v, artifact))) out.push({ component, version: v });
    return out;
  };
  const load = (
    artifact: string,
    fromPath: { component?: string | undefined; version?: string | undefined },
  ): SourceMap | null => {
    let where = versionsOf(artifact);
    const wanted = fromPath.version ?? version;
    if (wanted !== undefined) where = where.filter((w) => w.version === wanted);
    if (fromPath.component !== undefined && where.length > 1)
      where = where.filter((w) => w.component === fromPath.component);
    if (where.length !== 1) return null;
    const { component, version: v } = where[0]!;
    const key = `${component}/${v}/${artifact}`;
    if (!maps.has(key)) {
      const payload = JSON.parse(
        readFileSync(sourceMapPath(mapsDir, component, v, artifact), 'utf8'),
      ) as SourceMapPayload;
      maps.set(key, new SourceMap(payload));
    }
    return maps.get(key) ?? null;
  };
  return {
    unmapped,
    decode(text) {
      return text.replace(POSITION, (whole, dir: string, artifact: string, line: string, column: string) => {
        const parts = dir.split('/').filter((p) => p !== '');
        const v = parts.at(-1);
        const fromPath = /^\d+\.\d+\.\d+/.test(v ?? '') ? { component: parts.at(-2), version: v } : {};
        const map = load(artifact, fromPath);
        if (map === null) {
          unmapped.push(
            `${artifact}${fromPath.version === undefined ? '' : ` ${fromPath.version}`}: no map (of ${versionsOf(artifact).length} built)`,
          );
          return whole;
        }
        const entry = map.findEntry(Number(line) - 1, Number(column) - 1) as Partial<{
          originalSource: string;
          originalLine: number;
          originalColumn: number;
        }>;
        if (entry.originalSource === undefined || entry.originalLine === undefined) {
          unmapped.push(`${artifact} ${line}:${column}: not in its map`);
          return whole;
        }
        return `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1} [${artifact}/main.js:${line}:${column}]`;
      });
    },
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const mapsDir = resolve(argValue(argv, '--maps') ?? SOURCE_MAPS_DIR);
  const version = argValue(argv, '--version');
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--maps' || argv[i] === '--version') i += 1;
    else files.push(argv[i]!);
  }
  if (!existsSync(mapsDir)) {
    console.error(
      `stack: no source maps in ${mapsDir}: run npm run build:components (or give --maps DIR of the release)`,
    );
    process.exit(1);
  }
  const decoder = stackDecoder(mapsDir, version);
  const text =
    files.length === 0 ? readFileSync(0, 'utf8') : files.map((f) => readFileSync(f, 'utf8')).join('');
  process.stdout.write(decoder.decode(text));
  for (const u of new Set(decoder.unmapped)) console.error(`stack: left as it was: ${u}`);
}
