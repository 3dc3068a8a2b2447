import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * Bundles the consumer Lambda (cloud/consumer/handler.ts with the suite's envelope decoder) into one
 * file with esbuild, on this machine: no Docker. The AWS SDK v3 clients stay out of the bundle; the
 * Node.js 20 Lambda runtime provides them.
 */
export function bundleConsumer(projectRoot: string, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  buildSync({
    entryPoints: [join(projectRoot, 'cloud', 'consumer', 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    outfile: join(outDir, 'index.js'),
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return outDir;
}
