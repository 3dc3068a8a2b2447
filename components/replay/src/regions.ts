import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';
import { cfg } from '../../../shared/src/config';

/** Drain links per region at most. */
export const MAX_DRAIN_LINKS = 7;

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
  /**
   * Extra connections to this region used only while a backlog exists, each with the client id
   * `<clientId>-drain-<n>` and IoT Core's per-connection quotas of its own (the IoT policy must allow them).
   */
  drainLinks: cfg.int((n) => n.min(0).max(MAX_DRAIN_LINKS)).default(0),
});
export type RegionConfig = z.output<typeof regionSchema>;

export function resolveClientId(clientId: string, thingName: string): string {
  return clientId.replaceAll('{thing}', thingName);
}

/** The client id of a region's connection `slot`: 0 is the primary, 1..drainLinks the drain links. */
export function linkClientId(clientId: string, slot: number): string {
  return slot === 0 ? clientId : `${clientId}-drain-${slot}`;
}

/** Every client id a region connects with (the IoT policy allows exactly these). */
export function regionClientIds(r: Pick<RegionConfig, 'clientId' | 'drainLinks'>): string[] {
  return Array.from({ length: r.drainLinks + 1 }, (_, slot) => linkClientId(r.clientId, slot));
}

/** Empty is valid (the recipe's default): Replay then runs, keeps everything in the store and says why. */
export const regionsSchema = z.array(regionSchema).superRefine((regions, ctx) => {
  const seen = new Map<string, string>();
  regions.forEach((r, i) => {
    for (const [what, value] of [
      ['name', r.name],
      ...regionClientIds(r).map((id) => ['clientId', id] as const),
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
    // IoT Core: client ids of at most 128 characters.
    const longest = resolveClientId(linkClientId(r.clientId, r.drainLinks), thingName);
    if (longest.length > 128)
      problems.push(`region ${r.name}: client id ${longest} is longer than IoT Core's 128 characters`);
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
