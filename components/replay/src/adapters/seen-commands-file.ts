import { join } from 'node:path';
import { z } from 'zod';
import { DrError, toDrError } from '../../../../shared/src/errors';
import type { Logger } from '../../../../shared/src/logger';
import { NOTHING_SEEN, type SeenCommands } from '../core/seen-commands';
import type { SeenCommandStore } from '../ports';
import { JsonFile } from './json-file';

const fileSchema = z.object({
  v: z.literal(1),
  floorMs: z.number(),
  /** [id, issuedAtMs] */
  entries: z.array(z.tuple([z.string(), z.number()])),
});

/**
 * Accepted command ids in `replay-commands.json` in the work directory, so a command cannot run again
 * after a restart. A file that cannot be read is not a reason to forget: every command issued before
 * the moment it was found unreadable is refused (the floor), and new ones are accepted.
 */
export class SeenCommandsFile implements SeenCommandStore {
  private readonly file: JsonFile<typeof fileSchema>;

  constructor(
    workDir: string,
    private readonly logger: Logger,
    private readonly nowMs: () => number,
  ) {
    this.file = new JsonFile(join(workDir, 'replay-commands.json'), fileSchema);
  }

  load(): SeenCommands {
    try {
      const saved = this.file.read();
      if (saved === null) return NOTHING_SEEN;
      return {
        floorMs: saved.floorMs,
        entries: saved.entries.map(([id, issuedAtMs]) => ({ id, issuedAtMs })),
      };
    } catch (err) {
      const floorMs = this.nowMs();
      this.logger.error(
        { err: toDrError(err), path: this.file.path, floorMs },
        'accepted command ids unreadable: commands issued before now are refused',
      );
      return { entries: [], floorMs };
    }
  }

  /** Throws when the ids cannot be saved: a command must not run unless it cannot run twice. */
  save(seen: SeenCommands): void {
    try {
      this.file.write({
        v: 1,
        floorMs: seen.floorMs,
        entries: seen.entries.map((e) => [e.id, e.issuedAtMs]),
      });
    } catch (err) {
      throw new DrError('INTERNAL', `accepted command ids not saved to ${this.file.path}`, { cause: err });
    }
  }
}
