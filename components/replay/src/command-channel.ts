import { toDrError } from '../../../shared/src/errors';
import type { Logger } from '../../../shared/src/logger';
import type { Command, CommandReply } from '../../../shared/src/messages/cloud';
import type { ReplayConfig } from './config';
import { checkCommand } from './core/commands';
import { remember, type SeenCommands } from './core/seen-commands';
import type { SeenCommandStore } from './ports';

export interface CommandHost {
  config(): ReplayConfig;
  readonly logger: Logger;
  nowMs(): number;
  /** Applies an accepted command to the fleet and runs its effects; resolves with the reply. */
  execute(command: Command, via: string): Promise<CommandReply>;
  /** Publishes a reply on the region the command came through. */
  reply(via: string, reply: CommandReply, correlation: Uint8Array | undefined): void;
}

/**
 * Cloud commands as they arrive: checked by the pure rules (well formed, allowed, fresh, not seen),
 * their id saved in the work directory *before* they run (a command that cannot be remembered does not
 * run), applied to the fleet, and answered through the region they came from.
 */
export class CommandChannel {
  private seen: SeenCommands;
  private readonly counts = { accepted: 0, refused: 0 };

  constructor(
    private readonly host: CommandHost,
    private readonly store: SeenCommandStore,
  ) {
    this.seen = store.load();
  }

  get counters(): { readonly accepted: number; readonly refused: number } {
    return { ...this.counts };
  }

  handle(via: string, payload: Uint8Array, correlation: Uint8Array | undefined): void {
    const config = this.host.config();
    const logger = this.host.logger;
    const nowMs = this.host.nowMs();
    const verdict = checkCommand(payload, nowMs, config.commands, this.seen);
    if (!verdict.ok) {
      this.counts.refused += 1;
      logger.warn(
        { region: via, id: verdict.id, reason: verdict.reason, detail: verdict.detail },
        'command refused',
      );
      this.host.reply(
        via,
        {
          id: verdict.id,
          status: 'refused',
          reason: verdict.reason,
          detail: verdict.detail,
          region: via,
          atMs: nowMs,
        },
        correlation,
      );
      return;
    }
    const command = verdict.command;
    const next = remember(
      this.seen,
      { id: command.id, issuedAtMs: command.issuedAtMs },
      nowMs,
      config.commands.maxAgeMs,
    );
    try {
      this.store.save(next);
    } catch (err) {
      this.counts.refused += 1;
      const e = toDrError(err);
      logger.error({ region: via, id: command.id, err: e }, 'command not run: its id could not be saved');
      this.host.reply(
        via,
        {
          id: command.id,
          type: command.type,
          status: 'failed',
          reason: 'COMMAND_REJECTED',
          detail: `not run: ${e.message}`,
          region: via,
          atMs: nowMs,
        },
        correlation,
      );
      return;
    }
    this.seen = next;
    void this.host.execute(command, via).then((reply) => {
      if (reply.status === 'done') {
        this.counts.accepted += 1;
        logger.info(
          { region: via, id: command.id, type: command.type, result: reply.result },
          'command executed',
        );
      } else {
        this.counts.refused += 1;
        logger.warn({ region: via, id: command.id, type: command.type, reply }, 'command failed');
      }
      this.host.reply(via, reply, correlation);
    });
  }
}
