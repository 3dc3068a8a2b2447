import {
  COMMAND_ID,
  COMMAND_TYPES,
  commandSchema,
  type Command,
  type CommandType,
  type RefusalReason,
} from '../../../../shared/src/messages/cloud';
import { hasSeen, type SeenCommands } from './seen-commands';

/**
 * Cloud commands, as pure checks: a command arrives on the device's command topic in whichever region
 * it is connected to, and is accepted only when well formed, of an allowed type, fresh (not expired,
 * not issued longer ago than `maxAgeMs`, not issued further in the future than `maxFutureSkewMs`) and
 * not seen before. Nothing here runs anything; none of the commands runs a shell.
 */

export type CommandVerdict =
  | { readonly ok: true; readonly command: Command }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      readonly detail: string;
      /** The command's id when it could be read, so the reply can name it. */
      readonly id: string | null;
    };

export interface CommandPolicy {
  readonly allowed: readonly CommandType[];
  readonly maxAgeMs: number;
  /** How far in the future `issuedAtMs` may lie (the two clocks disagree by this much at most). */
  readonly maxFutureSkewMs: number;
}

function idOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && COMMAND_ID.test(id) ? id : null;
}

const decoder = new TextDecoder('utf-8');

/** Checks one command payload against the policy and the ids already accepted. */
export function checkCommand(
  payload: Uint8Array,
  nowMs: number,
  policy: CommandPolicy,
  seen: SeenCommands,
): CommandVerdict {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(payload));
  } catch {
    return { ok: false, reason: 'malformed', detail: 'the command is not JSON', id: null };
  }
  const id = idOf(raw);
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && !(COMMAND_TYPES as readonly string[]).includes(type)) {
    return { ok: false, reason: 'unknown', detail: `unknown command type ${type.slice(0, 64)}`, id };
  }
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    return { ok: false, reason: 'malformed', detail: `${where}${issue?.message ?? 'invalid'}`, id };
  }
  const command = parsed.data;
  const refuse = (reason: RefusalReason, detail: string): CommandVerdict => ({
    ok: false,
    reason,
    detail,
    id: command.id,
  });
  if (!policy.allowed.includes(command.type))
    return refuse('unauthorized', `command type ${command.type} is not allowed on this gateway`);
  if (command.expiresAtMs <= nowMs) return refuse('stale', `expired ${nowMs - command.expiresAtMs} ms ago`);
  if (nowMs - command.issuedAtMs > policy.maxAgeMs)
    return refuse('stale', `issued ${nowMs - command.issuedAtMs} ms ago, more than ${policy.maxAgeMs} ms`);
  if (command.issuedAtMs - nowMs > policy.maxFutureSkewMs)
    return refuse(
      'stale',
      `issued ${command.issuedAtMs - nowMs} ms in the future, more than ${policy.maxFutureSkewMs} ms: check the clocks`,
    );
  if (hasSeen(seen, command.id)) return refuse('duplicate', 'this command id was already handled');
  if (command.issuedAtMs <= seen.floorMs)
    return refuse('stale', 'issued before the oldest command this gateway still remembers');
  return { ok: true, command };
}
