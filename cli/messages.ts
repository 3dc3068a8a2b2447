/**
 * The cloud-facing message formats the operator tool speaks, from the suite's shared module of cloud
 * formats (shared/src/messages/cloud.ts, what Replay itself uses). The tool reads what gateways send
 * leniently (a newer gateway may add fields), so its schemas for what it receives stay loose here.
 */
import { z } from 'zod';
import {
  cloudTopics,
  COMMAND_TYPES,
  DEFAULT_SHADOW_NAME,
  type CommandType,
} from '../shared/src/messages/cloud';

export { COMMAND_TYPES, type CommandType };

export const SHADOW_NAME = DEFAULT_SHADOW_NAME;

/** Replay's default topics for `thing` (`+` for any thing). */
export function thingTopics(thing: string): {
  readonly presence: string;
  readonly commands: string;
  readonly commandReplies: string;
  readonly shadowGet: string;
} {
  const t = cloudTopics(thing);
  return {
    presence: t.presence,
    commands: t.commands,
    commandReplies: t.commandReplies,
    shadowGet: t.shadowUpdate.replace(/\/update$/, '/get'),
  };
}

/** Retained on the presence topic; `online` is published after the command subscription. */
export const presenceSchema = z.object({
  thing: z.string(),
  region: z.string(),
  state: z.enum(['online', 'offline']),
  atMs: z.number(),
});
export type Presence = z.infer<typeof presenceSchema>;

/** The DR shadow's reported state (docs/cloud.md). */
export const reportedSchema = z.looseObject({
  activeRegion: z.string().nullable().optional(),
  pinnedRegion: z.string().nullable().optional(),
  paused: z.boolean().optional(),
  regions: z.record(z.string(), z.string()).optional(),
  backlog: z.object({ alert: z.number(), live: z.number(), backlog: z.number() }).nullable().optional(),
  oldestAgeMs: z.number().nullable().optional(),
  lastFailover: z
    .object({
      kind: z.string(),
      from: z.string().nullable(),
      to: z.string().nullable(),
      atMs: z.number(),
      reason: z.string(),
    })
    .nullable()
    .optional(),
  updatedAtMs: z.number().optional(),
});
export type Reported = z.infer<typeof reportedSchema>;

export const replySchema = z.looseObject({
  id: z.string().nullable(),
  type: z.string().optional(),
  status: z.enum(['done', 'refused', 'failed']),
  reason: z.string().optional(),
  detail: z.string().optional(),
  result: z.unknown().optional(),
  region: z.string().optional(),
  atMs: z.number().optional(),
});
export type Reply = z.infer<typeof replySchema>;

/** Commands whose `args` need a region; the others take none (recalibrate: an optional asset). */
export const REGION_COMMANDS: readonly CommandType[] = ['failover', 'pin'];

export function commandPayload(
  id: string,
  type: CommandType,
  args: Readonly<Record<string, string>>,
  nowMs: number,
  ttlMs: number,
): Record<string, unknown> {
  return {
    id,
    type,
    issuedAtMs: nowMs,
    expiresAtMs: nowMs + ttlMs,
    ...(REGION_COMMANDS.includes(type) || (type === 'recalibrate' && Object.keys(args).length > 0)
      ? { args }
      : {}),
  };
}
