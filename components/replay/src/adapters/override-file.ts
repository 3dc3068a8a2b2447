import { join } from 'node:path';
import { z } from 'zod';
import { toDrError } from '../../../../shared/src/errors';
import type { Logger } from '../../../../shared/src/logger';
import type { SavedOverrides } from '../core/overrides';
import type { OverrideStore } from '../ports';
import { JsonFile } from './json-file';

const savedSchema = z.object({
  pinnedRegion: z.string().nullable(),
  paused: z.boolean(),
  configPinnedRegion: z.string().nullable(),
  configPaused: z.boolean(),
});

/** Operator overrides in `replay-state.json` in the work directory. */
export class OverrideFile implements OverrideStore {
  private readonly file: JsonFile<typeof savedSchema>;

  constructor(
    workDir: string,
    private readonly logger: Logger,
  ) {
    this.file = new JsonFile(join(workDir, 'replay-state.json'), savedSchema);
  }

  load(): SavedOverrides | null {
    try {
      return this.file.read();
    } catch (err) {
      this.logger.error(
        { err: toDrError(err), path: this.file.path },
        'saved operator overrides unreadable; the configuration applies',
      );
      return null;
    }
  }

  save(overrides: SavedOverrides): void {
    try {
      this.file.write(overrides);
    } catch (err) {
      this.logger.error(
        { err: toDrError(err), path: this.file.path },
        'operator overrides not saved; they last until a restart',
      );
    }
  }
}
