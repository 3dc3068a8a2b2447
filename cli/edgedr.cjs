#!/usr/bin/env node
// `npx edgedr …` from the project: runs the operator tool's TypeScript through tsx.
'use strict';
require('tsx/cjs');
require('./main.ts').main();
