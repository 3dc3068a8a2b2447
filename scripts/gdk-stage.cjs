#!/usr/bin/env node
// gdk's custom build step for one component of the suite, run by `gdk component build` inside
// greengrass-build/gdk/<Component>/ (no shell; cwd is that directory). gdk has just recreated
// greengrass-build/recipes/ and greengrass-build/artifacts/<Component>/<version>/ there; this puts the
// component's recipe (with its version) and its prebuilt artifact zips (npm run build:components) in them.
'use strict';
const { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const component = process.argv[2];
if (!component) {
  console.error('usage: node gdk-stage.cjs <ComponentName>');
  process.exit(2);
}
const config = JSON.parse(readFileSync('gdk-config.json', 'utf8'));
const settings = config.component[component];
if (!settings) {
  console.error(`gdk-config.json has no component ${component}`);
  process.exit(2);
}
const project = JSON.parse(readFileSync('project.json', 'utf8'));
const version = settings.version;
// The recipe carries the version gdk-config.json sets (the suite's one place for it).
const recipe = readFileSync('recipe.yaml', 'utf8').replace(
  /^ComponentVersion:.*$/m,
  `ComponentVersion: '${version}'`,
);
const out = join('greengrass-build');
mkdirSync(join(out, 'recipes'), { recursive: true });
const artifactsDir = join(out, 'artifacts', component, version);
mkdirSync(artifactsDir, { recursive: true });
writeFileSync(join(out, 'recipes', 'recipe.yaml'), recipe);
for (const zip of project.artifacts) {
  const from = join(project.artifactsSource, zip);
  if (!existsSync(from)) {
    console.error(`${from} is missing: run npm run build:components in the project first`);
    process.exit(1);
  }
  copyFileSync(from, join(artifactsDir, zip));
}
console.log(`staged ${component} ${version}: recipe and ${project.artifacts.join(', ')}`);
