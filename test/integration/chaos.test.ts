import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableFaults } from '../../scripts/chaos';
import { collect, spawnTs } from '../support/child';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(600_000);

/** The short round of the chaos suite: every kind of fault once, then the invariants. */
describe('chaos, short round', () => {
  const tempDir = useTempDir('ggdr-chaos-');

  it('survives one of each fault with nothing committed lost and every component back to RUNNING', async () => {
    const out = tempDir();
    const { faults, skipped } = availableFaults();
    if (skipped !== undefined) console.warn(skipped);
    const child = spawnTs('scripts/chaos.ts', [
      '--rounds',
      String(faults.length),
      '--seed',
      '3',
      '--out',
      out,
    ]);
    let stdout = '';
    const { code, stderr } = await collect(child, (line) => (stdout += `${line}\n`));
    const summary = JSON.parse(readFileSync(join(out, 'chaos.json'), 'utf8')) as {
      passed: boolean;
      violations: string[];
      rounds: { fault: string }[];
      committed: number;
      lost: number;
    };
    expect({ code, violations: summary.violations }).toEqual({ code: 0, violations: [] });
    expect(summary.passed).toBe(true);
    expect(new Set(summary.rounds.map((r) => r.fault))).toEqual(new Set(faults));
    expect(summary.committed).toBeGreaterThan(500);
    expect(summary.lost).toBe(0);
    expect(stdout + stderr).toContain('PASSED');
  });
});
