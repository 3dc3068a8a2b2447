import { z } from 'zod';

/**
 * Cloud commands, as pure checks: a command arrives on the device's command topic in whichever region
 * it is connected to, and is accepted only when well formed, fresh, of an allowed type and not seen
 * before. Nothing here runs anything; the service executes accepted commands (none runs a shell).
 */
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

const ID = /^[A-Za-z0-9_.:-]{1,128}$/;

const base = {
  id: z.string().regex(ID, 'an id of at most 128 letters, digits, _ . : -'),
  /** When the cloud issued it (ms since the epoch). */
  issuedAtMs: z.number().int().nonnegative(),
  /** After this (ms since the epoch) the command must not run. */
  expiresAtMs: z.number().int().positive(),
};
const regionArg = z.strictObject({ region: z.string().min(1) });

const commandSchema = z.discriminatedUnion('type', [
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

export type RefusalReason = 'malformed' | 'stale' | 'unknown' | 'unauthorized' | 'duplicate';

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
}

function idOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' && ID.test(id) ? id : null;
}

/** Checks one command payload; `seen` holds recently accepted ids (a replayed command is refused). */
export function checkCommand(
  payload: Uint8Array,
  nowMs: number,
  policy: CommandPolicy,
  seen: { has(id: string): boolean },
): CommandVerdict {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload).toString('utf8'));
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
  if (!policy.allowed.includes(command.type)) {
    return {
      ok: false,
      reason: 'unauthorized',
      detail: `command type ${command.type} is not allowed on this gateway`,
      id: command.id,
    };
  }
  if (command.expiresAtMs <= nowMs) {
    return {
      ok: false,
      reason: 'stale',
      detail: `expired ${nowMs - command.expiresAtMs} ms ago`,
      id: command.id,
    };
  }
  if (nowMs - command.issuedAtMs > policy.maxAgeMs) {
    return {
      ok: false,
      reason: 'stale',
      detail: `issued ${nowMs - command.issuedAtMs} ms ago, more than ${policy.maxAgeMs} ms`,
      id: command.id,
    };
  }
  if (command.issuedAtMs - nowMs > policy.maxAgeMs) {
    return {
      ok: false,
      reason: 'stale',
      detail: `issued ${command.issuedAtMs - nowMs} ms in the future: check the clocks`,
      id: command.id,
    };
  }
  if (seen.has(command.id)) {
    return { ok: false, reason: 'duplicate', detail: 'this command id was already handled', id: command.id };
  }
  return { ok: true, command };
}

/** Remembers the last `capacity` accepted ids, oldest forgotten first. */
export class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}
