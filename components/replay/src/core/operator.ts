import { DrError, isDrError } from '../../../../shared/src/errors';
import type { Command, CommandReply } from '../../../../shared/src/messages/cloud';
import type { Acc, Step } from './effects';
import { settle } from './fleet';
import type { FleetState } from './fleet-state';
import { statusDocument, type StatusContext } from './report';
import { switchTo } from './switching';

/**
 * Operator commands applied to the fleet: each returns the next state, its effects and the reply.
 * A command that cannot be carried out (an unknown or unhealthy region, a pin in the way) changes
 * nothing and is answered `failed` with COMMAND_REJECTED. `recalibrate` is forwarded to Inference by
 * the shell; if that fails, the shell answers `failed` instead.
 */

export interface CommandContext extends StatusContext {
  /** The region the command came through; the reply goes back there. */
  readonly via: string;
}

export interface Applied extends Step {
  readonly reply: CommandReply;
}

const rejected = (message: string): DrError => new DrError('COMMAND_REJECTED', message);

function regionNamed(s: FleetState, name: string): string {
  if (!s.plan.regions.some((r) => r.name === name))
    throw rejected(`no region named ${name}; configured: ${s.plan.regions.map((r) => r.name).join(', ')}`);
  return name;
}

function saveOverrides(acc: Acc): void {
  acc.effects.push({
    kind: 'save-overrides',
    pinnedRegion: acc.state.pinned,
    paused: acc.state.paused,
  });
}

function execute(acc: Acc, command: Command, ctx: CommandContext): unknown {
  const nowMs = ctx.nowMs;
  switch (command.type) {
    case 'status':
      return statusDocument(acc.state, ctx);
    case 'failover': {
      const target = regionNamed(acc.state, command.args.region);
      const h = acc.state.health.get(target);
      if (h?.status !== 'healthy')
        throw rejected(`region ${target} is ${h?.status ?? 'unknown'}, not healthy`);
      if (acc.state.pinned !== null && acc.state.pinned !== target)
        throw rejected(`region ${acc.state.pinned} is pinned; unpin first`);
      const noFailbackBeforeMs = nowMs + acc.state.plan.policy.health.failbackHoldMs;
      acc.state = { ...acc.state, noFailbackBeforeMs };
      if (acc.state.active !== target)
        switchTo(acc, 'manual', target, `operator failover via ${ctx.via}`, nowMs, nowMs);
      settle(acc, nowMs);
      return { activeRegion: acc.state.active, noFailbackBeforeMs };
    }
    case 'pin':
      acc.state = { ...acc.state, pinned: regionNamed(acc.state, command.args.region) };
      saveOverrides(acc);
      settle(acc, nowMs);
      return { pinnedRegion: acc.state.pinned, activeRegion: acc.state.active };
    case 'unpin':
      acc.state = { ...acc.state, pinned: null };
      saveOverrides(acc);
      settle(acc, nowMs);
      return { pinnedRegion: null, activeRegion: acc.state.active };
    case 'pause':
      acc.state = { ...acc.state, paused: true };
      saveOverrides(acc);
      settle(acc, nowMs);
      return { paused: true };
    case 'resume':
      acc.state = { ...acc.state, paused: false };
      saveOverrides(acc);
      settle(acc, nowMs);
      return { paused: false };
    case 'recalibrate': {
      const topic = acc.state.plan.inferenceTopic;
      acc.effects.push({
        kind: 'forward-recalibrate',
        topic,
        message: {
          id: command.id,
          type: 'recalibrate',
          ...(command.args.asset === undefined ? {} : { asset: command.args.asset }),
          requestedVia: ctx.via,
          atMs: nowMs,
        },
      });
      return { forwardedTo: topic };
    }
  }
}

export function applyCommand(state: FleetState, command: Command, ctx: CommandContext): Applied {
  const acc: Acc = { state, effects: [] };
  const base = { id: command.id, type: command.type, region: ctx.via, atMs: ctx.nowMs };
  try {
    const result = execute(acc, command, ctx);
    return { ...acc, reply: { ...base, status: 'done', result } };
  } catch (err) {
    if (!isDrError(err, 'COMMAND_REJECTED')) throw err;
    return {
      state,
      effects: [],
      reply: { ...base, status: 'failed', reason: err.code, detail: err.message },
    };
  }
}
