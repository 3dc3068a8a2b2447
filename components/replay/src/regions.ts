import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { cfg } from '../../../shared/src/config';

/**
 * One upstream region: its own endpoint, certificate, key and CA (BP 3.2.8.2: a certificate for each
 * region), a priority (lower is preferred) and an MQTT client id that must differ from the nucleus's own
 * (the nucleus connects as the thing name; a second connection with that id would kick it off).
 */
export const regionSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/, 'a region name of lowercase letters, digits and dashes'),
  endpoint: z.string().min(1),
  port: cfg.int((n) => n.min(1).max(65_535)).default(8883),
  certificatePath: z.string().min(1),
  privateKeyPath: z.string().min(1),
  caPath: z.string().min(1),
  priority: cfg.int((n) => n.min(0)),
  /** `{thing}` is replaced by the thing name, so one deployment gives every gateway its own client id. */
  clientId: z.string().min(1).max(128),
  /** `warm`: connected and probed while standing by; `cold`: connected only when needed. */
  standby: z.enum(['warm', 'cold']).default('warm'),
  /** IoT Core flow control (100 publishes/s, 512 KiB/s per connection); off only for brokers that are not IoT Core. */
  iotCoreFlowControl: cfg.bool().default(true),
});
export type RegionConfig = z.output<typeof regionSchema>;

export function resolveClientId(clientId: string, thingName: string): string {
  return clientId.replaceAll('{thing}', thingName);
}

/** Empty is valid (the recipe's default): Replay then runs, keeps everything in the store and says why. */
export const regionsSchema = z.array(regionSchema).superRefine((regions, ctx) => {
  const seen = new Map<string, string>();
  regions.forEach((r, i) => {
    for (const [what, value] of [
      ['name', r.name],
      ['clientId', r.clientId],
    ] as const) {
      const key = `${what}:${value}`;
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [i, what],
          message: `${what} ${value} is also used by region ${first}`,
        });
      else seen.set(key, r.name);
    }
  });
});

/**
 * What a schema cannot check: that each region's files exist and are readable, and that its client id
 * is not the thing name. Problems name the region, the field and the file, never a file's contents.
 */
export function regionFileProblems(regions: readonly RegionConfig[], thingName: string): string[] {
  const problems: string[] = [];
  for (const r of regions) {
    if (resolveClientId(r.clientId, thingName) === thingName) {
      problems.push(
        `region ${r.name}: clientId must differ from the thing name ${thingName} (the nucleus uses it)`,
      );
    }
    for (const field of ['certificatePath', 'privateKeyPath', 'caPath'] as const) {
      const path = r[field];
      try {
        if (!statSync(path).isFile()) throw new Error('not a file');
        accessSync(path, constants.R_OK);
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
        problems.push(`region ${r.name}: ${field} ${path} ${why}`);
      }
    }
  }
  return problems;
}
