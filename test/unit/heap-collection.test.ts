import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/child';

// A real node process: with --expose-gc the collection runs major GCs at its pace, and the garbage it
// leaves behind is gone; without the flag it stays off.
const script = `
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { startHeapCollection } = require(${JSON.stringify(join(REPO_ROOT, 'shared/src/component/heap-collection.ts'))});
let majors = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors += 1;
}).observe({ entryTypes: ['gc'] });
// Old-generation garbage: survives the young generation, then is dropped.
let keep = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'x' + i }));
const { heapUsed: withGarbage } = process.memoryUsage();
keep = null;
const heap = startHeapCollection(100);
setTimeout(() => {
  heap.stop();
  const { heapUsed } = process.memoryUsage();
  console.log(JSON.stringify({ active: heap.active, majors, freedMb: (withGarbage - heapUsed) / 1e6 }));
}, 1200);
`;

function run(flags: readonly string[]): { active: boolean; majors: number; freedMb: number } {
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
    active: boolean;
    majors: number;
    freedMb: number;
  };
}

describe('heap collection', () => {
  it('collects the old generation at its pace when node exposes gc, and frees what is dead', () => {
    const r = run(['--expose-gc', '--max-semi-space-size=1']);
    expect(r.active).toBe(true);
    expect(r.majors).toBeGreaterThanOrEqual(3);
    expect(r.freedMb).toBeGreaterThan(5);
  });

  it('stays off without --expose-gc', () => {
    const r = run(['--max-semi-space-size=1']);
    expect(r.active).toBe(false);
  });
});
