import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { MAX_DRAIN_LINKS } from '../components/replay/src/regions';
import { parseConfig } from '../shared/src/config';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/**
 * The one file the infrastructure app reads (infra/edgedr-infra.yaml by default): the account, every
 * region the gateways replay to (each gets the same stack), and the optional parts.
 */
export const infraConfigSchema = z.strictObject({
  account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'),
  regions: z.array(z.string().regex(REGION, 'an AWS region name')).min(1),
  /** Stack names are `<stackPrefix>-<region>`. */
  stackPrefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,60}$/)
    .default('edgedr'),
  /**
   * The drain links Replay has per region (its `drainLinks`): the gateway policy allows their client ids,
   * `<thing>-replay-<region>-drain-1` … `-drain-N`, and no others.
   */
  replayDrainLinks: z.number().int().min(0).max(MAX_DRAIN_LINKS).default(0),
  /** How long record ids are remembered for de-duplication (resends come within minutes). */
  idempotencyRetentionDays: z.number().int().min(1).max(365).default(14),
  consumer: z
    .strictObject({
      memoryMb: z.number().int().min(128).max(10_240).default(512),
      timeoutSeconds: z.number().int().min(10).max(900).default(120),
      /** A claim not completed in this time is taken over by a retry (its invocation died). */
      claimLeaseMs: z.number().int().min(10_000).default(180_000),
    })
    .default({ memoryMb: 512, timeoutSeconds: 120, claimLeaseMs: 180_000 }),
  /** Certificates to register in every region (paths relative to this file). */
  certificates: z
    .strictObject({
      /** Gateways' device certificates, registered without their CA (multi-account registration). */
      gateways: z
        .array(
          z.strictObject({
            thing: z.string().regex(/^[A-Za-z0-9:_-]{1,128}$/),
            certificatePem: z.string().min(1),
          }),
        )
        .default([]),
      /** A CSR of the operator's key: a certificate is issued from it in each region. */
      operatorCsr: z.string().min(1).optional(),
    })
    .default({ gateways: [] }),
  /** Alarms on the metrics gateways publish through aws.greengrass.Cloudwatch (Buffer: cloudwatch.enabled). */
  alarms: z
    .strictObject({
      /** The region the gateways' CloudWatch component publishes to; the fleet alarms live there. */
      metricsRegion: z.string().regex(REGION).optional(),
      namespace: z.string().min(1).default('EdgeDR'),
      /** Oldest record waiting on a gateway longer than this raises the backlog alarm. */
      backlogAgeMs: z.number().int().min(60_000).default(3_600_000),
      email: z.string().email().optional(),
    })
    .default({ namespace: 'EdgeDR', backlogAgeMs: 3_600_000 }),
});
export type InfraConfig = z.output<typeof infraConfigSchema>;

export interface LoadedInfraConfig {
  readonly config: InfraConfig;
  /** Certificate files read, by thing (gateways) and the operator's CSR. */
  readonly gatewayPems: ReadonlyMap<string, string>;
  readonly operatorCsr: string | undefined;
}

export function loadInfraConfig(path: string): LoadedInfraConfig {
  const config = parseConfig(infraConfigSchema, parse(readFileSync(path, 'utf8')), path);
  const read = (file: string): string =>
    readFileSync(isAbsolute(file) ? file : join(dirname(path), file), 'utf8');
  const metrics = config.alarms.metricsRegion;
  if (metrics !== undefined && !config.regions.includes(metrics))
    throw new Error(`${path}: alarms.metricsRegion ${metrics} is not one of the regions`);
  return {
    config,
    gatewayPems: new Map(config.certificates.gateways.map((g) => [g.thing, read(g.certificatePem)])),
    operatorCsr:
      config.certificates.operatorCsr === undefined ? undefined : read(config.certificates.operatorCsr),
  };
}
