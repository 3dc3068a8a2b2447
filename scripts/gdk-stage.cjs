#!/usr/bin/env node
// gdk's custom build step for one component of the suite, run by `gdk component build` inside
// build/gdk/<region>/<Component>/ (no shell; cwd is that directory). gdk has just recreated
// greengrass-build/recipes/ and greengrass-build/artifacts/<Component>/<version>/ there; this puts the
// component's recipe and its prebuilt artifact zips (npm run build:components) in them.
//
// The recipe gets the gdk-config.json version and author: gdk's custom build writes no recipe of its
// own, and gdk publish sets only ComponentVersion and the artifact URIs, so without this `author` would
// never reach ComponentPublisher. Dependencies on the suite's other components get the range for that
// version: a component at 0.2.0 (or at whatever NEXT_PATCH becomes) must not ask for Buffer <0.2.0.
'use strict';
const { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { NEXT_PATCH, rewriteRecipe, suiteRange } = require('./suite-version.cjs');

function fail(line) {
  console.error(line);
  process.exit(1);
}

const component = process.argv[2];
if (!component) fail('usage: node gdk-stage.cjs <ComponentName>');
const config = JSON.parse(readFileSync('gdk-config.json', 'utf8'));
const settings = config.component[component];
if (!settings) fail(`gdk-config.json has no component ${component}`);
const project = JSON.parse(readFileSync('project.json', 'utf8'));
const version = settings.version;
const source = readFileSync('recipe.yaml', 'utf8');
const base = /^ComponentVersion:\s*'?([^'\s]+)'?\s*$/m.exec(source);
if (base === null) fail('recipe.yaml has no ComponentVersion');
let staged;
try {
  staged = rewriteRecipe(source, {
    version,
    publisher: settings.author,
    range: suiteRange(version, base[1]),
  });
} catch (err) {
  fail(`cannot stage ${component}: ${err.message}`);
}
// Zips built at another version would publish old code under the new version.
const stamp = join(project.artifactsSource, 'build-version.json');
if (!existsSync(stamp))
  fail(`${stamp} is missing: run npm run build:components (or npm run release) in the project first`);
const built = JSON.parse(readFileSync(stamp, 'utf8')).version;
if (built !== base[1])
  fail(
    `the zips in ${project.artifactsSource} were built at ${built}, this recipe is at ${base[1]}: run npm run build:components (or npm run release without --skip-build)`,
  );
const out = join('greengrass-build');
mkdirSync(join(out, 'recipes'), { recursive: true });
// gdk names the artifact folder after the configured version, NEXT_PATCH included.
const artifactsDir = join(out, 'artifacts', component, version);
mkdirSync(artifactsDir, { recursive: true });
writeFileSync(join(out, 'recipes', 'recipe.yaml'), staged.text);
for (const zip of project.artifacts) {
  const from = join(project.artifactsSource, zip);
  if (!existsSync(from)) fail(`${from} is missing: run npm run build:components in the project first`);
  copyFileSync(from, join(artifactsDir, zip));
}
if (version === NEXT_PATCH)
  console.log(
    `${component}: version NEXT_PATCH, chosen by gdk at publish; suite dependencies accept ${suiteRange(version, base[1])}`,
  );
console.log(`staged ${component} ${version}: recipe and ${project.artifacts.join(', ')}`);
