import { execFile } from 'node:child_process';
import { REPO_ROOT } from '../support/child';

jest.setTimeout(120_000);

/**
 * The lint rule that keeps every component's core pure, checked with the project's own ESLint
 * configuration: text importing I/O modules, linted as if it were a core file of each component (and,
 * for contrast, an adapter), must be refused exactly there.
 */
const SOURCE = [
  "import { readFileSync } from 'node:fs';",
  "import { join } from 'path';",
  "import Database from 'better-sqlite3';",
  "import { mqtt5 } from 'aws-iot-device-sdk-v2';",
  "import { io } from 'aws-crt';",
  "import mqtt from 'mqtt';",
  "import * as ort from 'onnxruntime-node';",
  "import { z } from 'zod';",
  'export const used = [readFileSync, join, Database, mqtt5, io, mqtt, ort, z];',
  '',
].join('\n');

/** Existing files, so the type-aware configuration has them in its program; the text is ours. */
const FILES = [
  'components/replay/src/core/latency.ts',
  'components/ingest/src/core/mapper.ts',
  'components/inference/src/core/linalg.ts',
  'components/replay/src/adapters/json-file.ts',
];

const SCRIPT = `
import { ESLint } from 'eslint';
const eslint = new ESLint({ cwd: process.cwd() });
const source = process.env.SOURCE;
const out = {};
for (const filePath of JSON.parse(process.env.FILES)) {
  const [result] = await eslint.lintText(source, { filePath });
  out[filePath] = result.messages
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.line);
}
process.stdout.write(JSON.stringify(out));
`;

function lint(): Promise<Record<string, number[]>> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', SCRIPT],
      { cwd: REPO_ROOT, env: { ...process.env, SOURCE, FILES: JSON.stringify(FILES) } },
      (err, stdout, stderr) =>
        err === null ? resolve(JSON.parse(stdout) as Record<string, number[]>) : reject(new Error(stderr)),
    );
  });
}

describe('pure cores', () => {
  it('refuses I/O imports (node:*, builtins, better-sqlite3, the SDK, aws-crt, mqtt, onnxruntime) under every src/core/', async () => {
    const refused = await lint();
    for (const core of FILES.slice(0, 3)) expect(refused[core]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(refused['components/replay/src/adapters/json-file.ts']).toEqual([]);
  });
});
