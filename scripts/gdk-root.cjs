#!/usr/bin/env node
// The custom build command of the root gdk-config.json. The root holds the suite's shared gdk settings
// (author, version, bucket, region), not a component: gdk takes one component per gdk-config.json, so the
// suite is built and published from one gdk project per component. Running gdk here ends with this line.
'use strict';
console.error(
  [
    "This is not a gdk project: the root gdk-config.json holds the suite's shared settings.",
    'Run instead:  npm run release -- --version X.Y.Z   (or --bump patch|minor|major; it builds the zips and the gdk projects)',
    'then, in each project it prints:  gdk component build && gdk component publish',
  ].join('\n'),
);
process.exit(1);
