import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseConfig } from '../shared/src/config';

/**
 * The operator tool's file (edgedr.yaml, or --config / EDGEDR_CONFIG): each region's IoT data endpoint
 * with the operator's certificate there (the edgedr-operator policy), named as in Replay's `regions`,
 * and thing groups by name. Paths are relative to the file.
 */
export const operatorConfigSchema = z.strictObject({
  regions: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9-]{1,64}$/),
        endpoint: z.string().min(1),
        port: z.number().int().min(1).max(65_535).default(8883),
        certificatePath: z.string().min(1),
        privateKeyPath: z.string().min(1),
        caPath: z.string().min(1),
        /** The edgedr-operator policy allows client ids starting with edgedr-operator-. */
        clientId: z
          .string()
          .regex(/^edgedr-operator-[A-Za-z0-9_.:-]+$/)
          .optional(),
      }),
    )
    .min(1),
  groups: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().min(100).default(5_000),
      /** How long to wait for retained presence and for shadow answers. */
      readMs: z.number().int().min(100).default(3_000),
      replyMs: z.number().int().min(100).default(15_000),
    })
    .default({ connectMs: 5_000, readMs: 3_000, replyMs: 15_000 }),
  /** Commands expire this long after they are sent (Replay refuses them afterwards). */
  commandTtlMs: z.number().int().min(1_000).max(300_000).default(60_000),
});
export type OperatorConfig = z.output<typeof operatorConfigSchema>;
export type OperatorRegion = OperatorConfig['regions'][number];

export function loadOperatorConfig(path: string): OperatorConfig {
  const config = parseConfig(operatorConfigSchema, parse(readFileSync(path, 'utf8')), path);
  const at = (p: string): string => (isAbsolute(p) ? p : join(dirname(path), p));
  const user = userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '_');
  return {
    ...config,
    regions: config.regions.map((r) => ({
      ...r,
      certificatePath: at(r.certificatePath),
      privateKeyPath: at(r.privateKeyPath),
      caPath: at(r.caPath),
      clientId: r.clientId ?? `edgedr-operator-${user}-${process.pid}-${r.name}`,
    })),
  };
}
