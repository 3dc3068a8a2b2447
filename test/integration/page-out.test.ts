import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { buildPageOutAddon, compilerFor } from '../../shared/src/runtime/host/native-addon';
import { collect, REPO_ROOT, spawnTs } from '../support/child';
import { useTempDir } from '../support/temp-dir';

jest.setTimeout(120_000);

const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
let addon: string | { skipped: string };
try {
  addon = buildPageOutAddon(arch);
} catch (err) {
  addon = { skipped: (err as Error).message };
}
if (typeof addon !== 'string') console.warn(`page-out not tested: ${addon.skipped}`);

interface ChildResult {
  report: { mappings: number; residentKiBBefore: number; residentKiBAfter: number } | string;
  before: number[];
  after: number[];
  residentKiBAfterScoring: number;
  missing: unknown;
}

(typeof addon === 'string' ? describe : describe.skip)(
  `page-out.node (${compilerFor(arch).command}) on a real onnxruntime session`,
  () => {
    const tempDir = useTempDir('ggdr-page-out-');

    /** A copy of onnxruntime-node of its own: pages no other process maps, so the kernel can take them. */
    function privateOnnxRuntime(): string {
      const modules = join(tempDir(), 'node_modules');
      const from = join(REPO_ROOT, 'node_modules', 'onnxruntime-node');
      const to = join(modules, 'onnxruntime-node');
      mkdirSync(to, { recursive: true });
      for (const f of ['package.json', 'dist']) cpSync(join(from, f), join(to, f), { recursive: true });
      const bin = join('bin', 'napi-v6', 'linux', arch);
      cpSync(join(from, bin), join(to, bin), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'node_modules', 'onnxruntime-common'), join(modules, 'onnxruntime-common'));
      return modules;
    }

    it('gives back the start-up pages, the session scores the same after, and scoring brings back only part', async () => {
      const modules = privateOnnxRuntime();
      const lines: string[] = [];
      const { code, stderr } = await collect(
        spawnTs('test/support/page-out-child.ts', [modules, addon as string]),
        (l) => lines.push(l),
      );
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const r = JSON.parse(lines.at(-1)!) as ChildResult;
      if (typeof r.report === 'string') throw new Error(`no page-out: ${r.report}`);
      // libonnxruntime's code and constants, and the binding's.
      expect(r.report.mappings).toBeGreaterThanOrEqual(2);
      expect(r.report.residentKiBBefore).toBeGreaterThan(8 * 1024);
      expect(r.report.residentKiBAfter).toBeLessThan(r.report.residentKiBBefore / 4);
      expect(r.after).toEqual(r.before);
      expect(r.before.every(Number.isFinite)).toBe(true);
      expect(r.residentKiBAfterScoring).toBeLessThan(r.report.residentKiBBefore / 2);
      expect(r.missing).toMatch(/^no .*no-such-addon\.node$/);
    });
  },
);
