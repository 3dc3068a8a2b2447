import { z } from 'zod';
import { resourceMatches } from './topics';

const policySchema = z.object({
  policyDescription: z.string().optional(),
  operations: z.array(z.string()),
  resources: z.array(z.string()),
});

/** A recipe's `accessControl`: service -> policy id -> { operations, resources }. */
export const accessControlSchema = z.record(z.string(), z.record(z.string(), policySchema));
export type AccessControl = z.infer<typeof accessControlSchema>;

export const PUBSUB_SERVICE = 'aws.greengrass.ipc.pubsub';

/** True when some policy of `service` grants `operation` (or `*`) on `resource`. */
export function isAuthorized(
  accessControl: AccessControl,
  service: string,
  operation: string,
  resource: string,
): boolean {
  const policies = accessControl[service];
  if (policies === undefined) return false;
  return Object.values(policies).some(
    (p) =>
      (p.operations.includes(operation) || p.operations.includes('*')) &&
      p.resources.some((r) => resourceMatches(r, resource)),
  );
}
