/**
 * The cloud-facing message formats the operator tool speaks, all taken from Replay's own code (its
 * configuration defaults and command checker): the one place to change when they move to a shared
 * module of message formats.
 */
import { z } from 'zod';
import { replayConfigSchema, resolveTopics } from '../components/replay/src/config';
import { COMMAND_TYPES, type CommandType } from '../components/replay/src/core/commands';

export { COMMAND_TYPES, type CommandType };

const defaults = replayConfigSchema.parse({});
export const SHADOW_NAME = defaults.shadow.name;

/** Replay's default topics for `thing` (`+` for any thing). */
export function thingTopics(thing: string): {
  readonly presence: string;
  readonly commands: string;
  readonly commandReplies: string;
  readonly shadowGet: string;
} {
  const t = resolveTopics(defaults, thing);
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
