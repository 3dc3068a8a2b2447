// The suite's version rules, in plain CommonJS: `npm run release` uses them from TypeScript, and each gdk
// project carries a copy beside gdk-stage.cjs, which gdk runs with plain node (no shell, no tsx).
'use strict';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
/** gdk's `version` may be NEXT_PATCH: gdk picks the version at publish (1.0.0 in an account without one). */
const NEXT_PATCH = 'NEXT_PATCH';
/** gdk's fallback when the account has no version of the component yet. */
const GDK_FIRST_VERSION = '1.0.0';
/** The suite's own components depend on each other at the suite's version. */
const SUITE_PREFIX = 'com.edgedr.';

function parseVersion(text) {
  const m = SEMVER.exec(String(text));
  if (m === null) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? null };
}

function mustParse(text) {
  const v = parseVersion(text);
  if (v === null) throw new Error(`${JSON.stringify(text)} is not a semantic version (major.minor.patch)`);
  return v;
}

function format(v) {
  return `${v.major}.${v.minor}.${v.patch}`;
}

function compare(a, b) {
  const x = mustParse(a);
  const y = mustParse(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** The next version after `version` for a bump of `kind` (patch, minor or major); a pre-release is dropped. */
function bump(version, kind) {
  const v = mustParse(version);
  if (kind === 'major') return `${v.major + 1}.0.0`;
  if (kind === 'minor') return `${v.major}.${v.minor + 1}.0`;
  if (kind === 'patch') return v.pre === null ? `${v.major}.${v.minor}.${v.patch + 1}` : format(v);
  throw new Error(`unknown bump ${JSON.stringify(kind)}: patch, minor or major`);
}

/** The first version that is no longer compatible: the next major, or the next minor while below 1.0.0. */
function compatibleUpper(version) {
  const v = mustParse(version);
  return v.major > 0 ? `${v.major + 1}.0.0` : `0.${v.minor + 1}.0`;
}

/**
 * The VersionRequirement a suite component puts on another one. At a fixed version: that version up to
 * the next incompatible one. At NEXT_PATCH each component's version is chosen by gdk at publish, one by
 * one: 1.0.0 where the account has none, or the next patch of what it has (which follows `baseVersion`,
 * the last release in recipes/). The range then admits both, so the dependency can always be met.
 */
function suiteRange(version, baseVersion) {
  if (version !== NEXT_PATCH) return `>=${format(mustParse(version))} <${compatibleUpper(version)}`;
  const base = format(mustParse(baseVersion));
  const lower = compare(base, GDK_FIRST_VERSION) < 0 ? base : GDK_FIRST_VERSION;
  const uppers = [compatibleUpper(base), compatibleUpper(GDK_FIRST_VERSION)].sort(compare);
  return `>=${lower} <${uppers[1]}`;
}

const quote = (s) => `'${String(s).replaceAll("'", "''")}'`;
/** A value YAML reads back as the same string without quotes (no number, boolean, null or syntax). */
const PLAIN = /^[A-Za-z][A-Za-z0-9 ._-]*[A-Za-z0-9._-]$/;
const YAML_WORDS = /^(true|false|yes|no|on|off|null|y|n)$/i;
/** Keeps the line's quoting style where the value allows it, so a release changes no more than it must. */
const scalar = (line, value) =>
  /^[^:]+:\s*['"]/.test(line) || !PLAIN.test(value) || YAML_WORDS.test(value) ? quote(value) : value;

/**
 * Rewrites a recipe's ComponentVersion, ComponentPublisher and the VersionRequirement of its dependencies
 * on suite components, line by line: every other line (Lifecycle, configuration, comments) stays byte for
 * byte as it was. Throws when a field it must set is not there.
 */
function rewriteRecipe(text, { version, publisher, range }) {
  const lines = text.split('\n');
  let inDependencies = false;
  let dependency = null;
  const seen = { version: false, publisher: false, ranges: 0 };
  const out = lines.map((line) => {
    if (/^\S/.test(line)) {
      inDependencies = /^ComponentDependencies:\s*$/.test(line);
      dependency = null;
      if (/^ComponentVersion:/.test(line)) {
        seen.version = true;
        return `ComponentVersion: ${quote(version)}`;
      }
      if (/^ComponentPublisher:/.test(line)) {
        seen.publisher = true;
        return `ComponentPublisher: ${scalar(line, publisher)}`;
      }
      return line;
    }
    if (!inDependencies) return line;
    const name = /^ {2}([A-Za-z0-9._-]+):\s*$/.exec(line);
    if (name !== null) {
      dependency = name[1];
      return line;
    }
    const requirement = /^( {4})VersionRequirement:.*$/.exec(line);
    if (requirement !== null && dependency !== null && dependency.startsWith(SUITE_PREFIX)) {
      seen.ranges += 1;
      return `${requirement[1]}VersionRequirement: ${quote(range)}`;
    }
    return line;
  });
  if (!seen.version) throw new Error('the recipe has no top-level ComponentVersion line');
  if (!seen.publisher) throw new Error('the recipe has no top-level ComponentPublisher line');
  return { text: out.join('\n'), suiteDependencies: seen.ranges };
}

module.exports = {
  NEXT_PATCH,
  GDK_FIRST_VERSION,
  SUITE_PREFIX,
  parseVersion,
  compare,
  bump,
  compatibleUpper,
  suiteRange,
  rewriteRecipe,
};
