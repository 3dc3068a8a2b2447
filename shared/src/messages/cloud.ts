import { z } from 'zod';

/**
 * What the gateway and the cloud say to each other through a region, apart from the batch envelope
 * (`shared/src/envelope.ts`): commands and their replies, presence, probes and the DR shadow. One
 * definition for the gateway (Replay) and for cloud-side tools (an operator tool, tests, the demo).
 * The wire formats are described for users in docs/cloud.md.
 */

// ---- topics ------------------------------------------------------------------------------------------

/**
 * Default topic templates. `{thing}` is the gateway's thing name and `{shadow}` the DR shadow's name;
 * the least-privilege IoT policy in docs/deployment.md allows exactly these.
 */
export const DEFAULT_CLOUD_TOPICS = {
  batches: 'edgedr/{thing}/batches',
  presence: 'edgedr/{thing}/presence',
  probe: 'edgedr/{thing}/probe',
  commands: 'edgedr/{thing}/commands',
  commandReplies: 'edgedr/{thing}/commands/replies',
  shadowUpdate: '$aws/things/{thing}/shadow/name/{shadow}/update',
} as const;

export type CloudTopicName = keyof typeof DEFAULT_CLOUD_TOPICS;
export type CloudTopics = Readonly<Record<CloudTopicName, string>>;

/** The DR named shadow's default name. */
export const DEFAULT_SHADOW_NAME = 'edgedr-dr';

/** A topic template with `{thing}` and `{shadow}` filled in. */
export function fillTopic(template: string, thing: string, shadow: string = DEFAULT_SHADOW_NAME): string {
  return template.replaceAll('{thing}', thing).replaceAll('{shadow}', shadow);
}

/** Every topic of one gateway, from templates (the defaults unless given). */
export function cloudTopics(
  thing: string,
  shadow: string = DEFAULT_SHADOW_NAME,
  templates: CloudTopics = DEFAULT_CLOUD_TOPICS,
): CloudTopics {
  const out = {} as Record<CloudTopicName, string>;
  for (const name of Object.keys(DEFAULT_CLOUD_TOPICS) as CloudTopicName[])
    out[name] = fillTopic(templates[name], thing, shadow);
  return out;
}

// ---- commands ----------------------------------------------------------------------------------------

export const COMMAND_TYPES = [
  'status',
  'failover',
  'pin',
  'unpin',
  'pause',
  'resume',
  'recalibrate',
] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

/** A command id: at most 128 letters, digits, `_ . : -`. */
export const COMMAND_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

const base = {
  id: z.string().regex(COMMAND_ID, 'an id of at most 128 letters, digits, _ . : -'),
  /** When the cloud issued it (ms since the epoch). */
  issuedAtMs: z.number().int().nonnegative(),
  /** After this (ms since the epoch) the command must not run. */
  expiresAtMs: z.number().int().positive(),
};
const regionArg = z.strictObject({ region: z.string().min(1) });

/** A command as the cloud sends it on the gateway's command topic. Unknown fields are refused. */
export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...base, type: z.literal('status') }),
  z.strictObject({ ...base, type: z.literal('failover'), args: regionArg }),
  z.strictObject({ ...base, type: z.literal('pin'), args: regionArg }),
  z.strictObject({ ...base, type: z.literal('unpin') }),
  z.strictObject({ ...base, type: z.literal('pause') }),
  z.strictObject({ ...base, type: z.literal('resume') }),
  z.strictObject({
    ...base,
    type: z.literal('recalibrate'),
    args: z.strictObject({ asset: z.string().min(1).optional() }).default({}),
  }),
]);
export type Command = z.output<typeof commandSchema>;
/** What a sender writes (`args` of recalibrate may be left out). */
export type CommandInput = z.input<typeof commandSchema>;

/** Why a command was refused before anything ran. */
export const REFUSAL_REASONS = ['malformed', 'stale', 'unknown', 'unauthorized', 'duplicate'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const replyBase = {
  /** The region the command arrived through (the reply goes back there). */
  region: z.string(),
  atMs: z.number().int(),
};

/** Replies on the command-replies topic, carrying the request's MQTT5 correlation data. */
export const commandReplySchema = z.discriminatedUnion('status', [
  z.strictObject({
    ...replyBase,
    id: z.string(),
    type: z.enum(COMMAND_TYPES),
    status: z.literal('done'),
    result: z.unknown(),
  }),
  z.strictObject({
    ...replyBase,
    /** Null when the command's id could not be read. */
    id: z.string().nullable(),
    status: z.literal('refused'),
    reason: z.enum(REFUSAL_REASONS),
    detail: z.string(),
  }),
  z.strictObject({
    ...replyBase,
    id: z.string(),
    type: z.enum(COMMAND_TYPES),
    status: z.literal('failed'),
    /** A suite error code, e.g. COMMAND_REJECTED. */
    reason: z.string(),
    detail: z.string(),
  }),
]);
export type CommandReply = z.output<typeof commandReplySchema>;

// ---- presence and probes -----------------------------------------------------------------------------

/** Retained on the presence topic: `online` once commands can be sent; the MQTT5 will says `offline`. */
export const presenceSchema = z.strictObject({
  thing: z.string(),
  region: z.string(),
  state: z.enum(['online', 'offline']),
  atMs: z.number().int(),
});
export type Presence = z.output<typeof presenceSchema>;

/** A QoS1 probe on a standby (or idle) connection; the PUBACK is what counts. */
export const probeSchema = z.strictObject({
  thing: z.string(),
  region: z.string(),
  atMs: z.number().int(),
});
export type Probe = z.output<typeof probeSchema>;

// ---- the DR shadow -----------------------------------------------------------------------------------

export const REGION_STATUSES = ['connecting', 'healthy', 'down', 'misconfigured'] as const;
export type RegionStatus = (typeof REGION_STATUSES)[number];

export const SWITCH_KINDS = ['failover', 'failback', 'recovery', 'all-down', 'pin', 'manual'] as const;
export type SwitchKind = (typeof SWITCH_KINDS)[number];

/** The DR named shadow's `reported` state. */
export const shadowReportedSchema = z.strictObject({
  activeRegion: z.string().nullable(),
  pinnedRegion: z.string().nullable(),
  paused: z.boolean(),
  regions: z.record(z.string(), z.enum(REGION_STATUSES)),
  backlog: z
    .strictObject({ alert: z.number().int(), live: z.number().int(), backlog: z.number().int() })
    .nullable(),
  oldestAgeMs: z.number().nullable(),
  storeBytes: z.number().nullable(),
  lastFailover: z
    .strictObject({
      kind: z.enum(SWITCH_KINDS),
      from: z.string().nullable(),
      to: z.string().nullable(),
      atMs: z.number().int(),
      reason: z.string(),
    })
    .nullable(),
  updatedAtMs: z.number().int(),
});
export type ShadowReported = z.output<typeof shadowReportedSchema>;

/** What the gateway publishes on the shadow's update topic. */
export const shadowUpdateSchema = z.strictObject({
  state: z.strictObject({ reported: shadowReportedSchema }),
});
export type ShadowUpdate = z.output<typeof shadowUpdateSchema>;
