/**
 * Stack traces from a gateway's logs, back in the source:
 *   npm run stack -- [--maps DIR] [--sha256 DIGEST] [--version V] [FILE...]
 * (standard input without FILE). Every position in a bundle, `…/<component>/<version>/<artifact>/main.js:L:C`
 * as the nucleus unpacks a zip, is replaced by the source file and line it was built from, with the
 * bundle position kept beside it; the rest of the text (JSON log lines included) passes unchanged.
 *
 * The maps are written by the build (`npm run build:components`, `npm run release`) to
 * build/sourcemaps/<component>/<version>/<artifact>.<sha256>.js.map, named by the SHA-256 of the bundle
 * they map, and never go into the zips: a gateway would only carry megabytes it does not use. Keep them
 * with each release. The zip's build-info.json holds the same digest, and each component logs it
 * (`bundleSha256`) when it starts and with a fatal fault, so the map of the very build that ran is found.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { join, resolve } from 'node:path';
import { argValue } from '../dev/args';
import { BUILD_DIR } from './build-paths';

export const SOURCE_MAPS_DIR = join(BUILD_DIR, 'sourcemaps');

/** Where the build puts the map of one bundle (several builds of a version keep theirs apart). */
export function sourceMapPath(
  mapsDir: string,
  component: string,
  version: string,
  artifact: string,
  bundleSha256: string,
): string {
  return join(mapsDir, component, version, `${artifact}.${bundleSha256}.js.map`);
}

const MAP_FILE = /^([a-z0-9-]+-(?:amd64|aarch64))\.([0-9a-f]{64})\.js\.map$/;

interface MapFile {
  readonly component: string;
  readonly version: string;
  readonly artifact: string;
  readonly sha256: string;
  readonly path: string;
}

function mapFiles(mapsDir: string): MapFile[] {
  const dirs = (d: string): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
  const out: MapFile[] = [];
  for (const component of dirs(mapsDir))
    for (const version of dirs(join(mapsDir, component)))
      for (const f of readdirSync(join(mapsDir, component, version))) {
        const m = MAP_FILE.exec(f);
        if (m !== null)
          out.push({
            component,
            version,
            artifact: m[1]!,
            sha256: m[2]!,
            path: join(mapsDir, component, version, f),
          });
      }
  return out;
}

/**
 * A bundle position. In parentheses (`at fn (path:L:C)`) the path may hold spaces; bare (`at path:L:C`)
 * it ends at white space. Neither runs across a backslash, so JSON's escaped line breaks stay outside.
 */
const POSITION =
  /\(([^()\n\\]*\/)?([a-z0-9-]+-(?:amd64|aarch64))\/main\.js:(\d+):(\d+)\)|((?:[^\s()'"`\\[]*\/)?)([a-z0-9-]+-(?:amd64|aarch64))\/main\.js:(\d+):(\d+)/g;
/** What the components log at start and with a fatal fault: the digest of the running bundle. */
const LOGGED_DIGEST = /"bundleSha256":"([0-9a-f]{64})"/g;

export interface Decoder {
  /** The text with every bundle position it has a map for replaced. */
  decode(text: string): string;
  /** Positions left as they were, with why (no map of that bundle, several and no digest, not in it). */
  readonly unmapped: string[];
}

export interface DecoderOptions {
  /** The bundle's SHA-256 (the `bundleSha256` its component logs); also taken from the text itself. */
  readonly sha256?: string | undefined;
  /** The version folder of the maps, over the one in the paths (a NEXT_PATCH release files its maps
   * under the recipes' version while gdk publishes another). */
  readonly version?: string | undefined;
}

/**
 * A decoder over the maps under `mapsDir`. For each position the map is the one of the bundle that ran:
 * by the digest given or logged in the text when there is one, else by the version in its path (or
 * `version`) when that leaves a single build. A position beyond what the map covers (another build's
 * line) is left as it was rather than mapped to a wrong line.
 */
export function stackDecoder(mapsDir: string, options: DecoderOptions = {}): Decoder {
  const files = mapFiles(mapsDir);
  const maps = new Map<string, SourceMap>();
  const unmapped: string[] = [];
  const choose = (
    artifact: string,
    fromPath: { component?: string | undefined; version?: string | undefined },
    digests: ReadonlySet<string>,
  ): MapFile | string => {
    let c = files.filter(
      (f) =>
        f.artifact === artifact && (fromPath.component === undefined || f.component === fromPath.component),
    );
    if (c.length === 0) return 'no map of this artifact';
    const byDigest = c.filter((f) => digests.has(f.sha256));
    if (byDigest.length > 0) return byDigest[0]!;
    // A digest given on the command line is the build that ran: no other map will do.
    if (options.sha256 !== undefined) return `no map of bundle ${options.sha256.slice(0, 12)}`;
    const version = options.version ?? fromPath.version;
    if (version !== undefined) c = c.filter((f) => f.version === version);
    if (c.length === 0) return `no map of version ${version ?? '?'}`;
    if (c.length > 1)
      return `${c.length} builds of version ${c[0]!.version}: give --sha256 (its bundleSha256)`;
    return c[0]!;
  };
  const mapOf = (f: MapFile): SourceMap => {
    let m = maps.get(f.path);
    if (m === undefined) {
      m = new SourceMap(JSON.parse(readFileSync(f.path, 'utf8')) as SourceMapPayload);
      maps.set(f.path, m);
    }
    return m;
  };
  return {
    unmapped,
    decode(text) {
      const digests = new Set([...text.matchAll(LOGGED_DIGEST)].map((m) => m[1]!));
      if (options.sha256 !== undefined) digests.add(options.sha256);
      return text.replace(
        POSITION,
        (
          whole,
          pDir?: string,
          pArt?: string,
          pLine?: string,
          pCol?: string,
          bDir?: string,
          bArt?: string,
          bLine?: string,
          bCol?: string,
        ) => {
          const inParens = pArt !== undefined;
          const dir = (inParens ? pDir : bDir) ?? '';
          const artifact = (inParens ? pArt : bArt)!;
          const line = Number(inParens ? pLine : bLine);
          const column = Number(inParens ? pCol : bCol);
          const parts = dir.split('/').filter((p) => p !== '');
          const v = parts.at(-1);
          const fromPath = /^\d+\.\d+\.\d+/.test(v ?? '') ? { component: parts.at(-2), version: v } : {};
          const chosen = choose(artifact, fromPath, digests);
          if (typeof chosen === 'string') {
            unmapped.push(`${artifact}/main.js:${line}:${column}: ${chosen}`);
            return whole;
          }
          const entry = mapOf(chosen).findEntry(line - 1, column - 1) as Partial<{
            generatedLine: number;
            originalSource: string;
            originalLine: number;
            originalColumn: number;
          }>;
          if (
            entry.originalSource === undefined ||
            entry.originalLine === undefined ||
            entry.generatedLine !== line - 1
          ) {
            unmapped.push(
              `${artifact}/main.js:${line}:${column}: not in the map of bundle ${chosen.sha256.slice(0, 12)}`,
            );
            return whole;
          }
          const mapped = `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1} [${artifact} ${line}:${column}]`;
          return inParens ? `(${mapped})` : mapped;
        },
      );
    },
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const mapsDir = resolve(argValue(argv, '--maps') ?? SOURCE_MAPS_DIR);
  const version = argValue(argv, '--version');
  const sha256 = argValue(argv, '--sha256');
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--maps' || argv[i] === '--version' || argv[i] === '--sha256') i += 1;
    else files.push(argv[i]!);
  }
  if (!existsSync(mapsDir)) {
    console.error(
      `stack: no source maps in ${mapsDir}: run npm run build:components (or give --maps DIR of the release)`,
    );
    process.exit(1);
  }
  const decoder = stackDecoder(mapsDir, { version, sha256 });
  const text =
    files.length === 0 ? readFileSync(0, 'utf8') : files.map((f) => readFileSync(f, 'utf8')).join('');
  process.stdout.write(decoder.decode(text));
  for (const u of new Set(decoder.unmapped)) console.error(`stack: left as it was: ${u}`);
}
