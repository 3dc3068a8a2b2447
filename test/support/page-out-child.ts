/**
 * Run as its own process by page-out.test.ts: loads a private copy of onnxruntime-node (so no other process
 * maps its pages), builds a session of the shipped model, scores a batch, gives the library's pages back
 * and scores the same batch again. Prints one JSON line: the report, the two scores, and what is
 * resident after the second scoring. Arguments: the copy's node_modules, the page-out addon.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as OnnxRuntime from 'onnxruntime-node';
import { pageOutLibrary, readOnlyResidentKiB } from '../../shared/src/component/page-out';

async function main(): Promise<void> {
  const [modules, addon] = process.argv.slice(2) as [string, string];
  const ort = createRequire(join(modules, 'x.js'))('onnxruntime-node') as typeof OnnxRuntime;
  const model = join(__dirname, '..', '..', 'components', 'inference', 'models', 'default.onnx');
  const session = await ort.InferenceSession.create(readFileSync(model), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    enableCpuMemArena: false,
    enableMemPattern: false,
  });
  const input = session.inputNames[0]!;
  const features = Number(session.inputMetadata[0]?.isTensor ? session.inputMetadata[0].shape[1] : 0);
  const rows = 16;
  const data = Float32Array.from({ length: rows * features }, (_, i) => Math.sin(i) * 3);
  const score = async (): Promise<number[]> => {
    const out = await session.run({ [input]: new ort.Tensor('float32', data, [rows, features]) });
    return Array.from(out['score']!.data as Float32Array);
  };
  const before = await score();
  const report = pageOutLibrary(modules, addon);
  const after = await score();
  for (let i = 0; i < 200; i++) await score();
  const missing = pageOutLibrary(modules, join(modules, 'no-such-addon.node'));
  const residentKiBAfterScoring = readOnlyResidentKiB(modules);
  console.log(JSON.stringify({ report, before, after, residentKiBAfterScoring, missing }));
  await session.release();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
