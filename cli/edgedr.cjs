#!/usr/bin/env node
// `npx edgedr …` from the project: runs the operator tool's TypeScript through tsx.
'use strict';
require('tsx/cjs');
const { run } = require('./main.ts');
run(
  process.argv.slice(2),
  (s) => process.stdout.write(`${s}\n`),
  (s) => process.stderr.write(`${s}\n`),
).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`edgedr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
