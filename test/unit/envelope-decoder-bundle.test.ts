import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { encodeColumnarEnvelope, encodeEnvelope } from '../../shared/src/envelope';
import { REPO_ROOT } from '../support/child';
import { useTempDir } from '../support/temp-dir';

describe('the bundled envelope decoder for cloud consumers', () => {
  const tempDir = useTempDir('ggdr-decoder-');

  it('builds into one file that decodes envelopes without the project around it', () => {
    const out = join(tempDir(), 'envelope-decoder.js');
    execFileSync(
      join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'),
      [
        'shared/src/envelope.ts',
        '--bundle',
        '--platform=node',
        '--target=node20',
        '--format=cjs',
        `--outfile=${out}`,
      ],
      { cwd: REPO_ROOT, stdio: 'pipe' },
    );
    const records = [
      {
        id: 'gw-1:e1:1',
        stream: 'pump/pressure',
        lane: 'telemetry' as const,
        deviceId: 'p1',
        tsMs: 1,
        body: { bar: 1.5 },
      },
    ];
    // A separate node process with only the bundle: what a Lambda function would have. It reads both
    // versions of the envelope.
    for (const envelope of [encodeEnvelope('gw-1', records), encodeColumnarEnvelope('gw-1', records)]) {
      const decoded = execFileSync(
        process.execPath,
        [
          '-e',
          `const { decodeEnvelope } = require(${JSON.stringify(out)});
           const chunks = []; process.stdin.on('data', (c) => chunks.push(c));
           process.stdin.on('end', () => process.stdout.write(JSON.stringify(decodeEnvelope(Buffer.concat(chunks)))));`,
        ],
        { input: envelope.payload, cwd: tempDir() },
      );
      expect(JSON.parse(decoded.toString())).toEqual({ header: envelope.header, records });
    }
  });
});
