import { closeSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileSize } from './quota';

/** The size of the owner's reserve file. */
export const RESERVE_FILE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

/** Where a store's reserve file lives: beside it, named after its configured path (the same whatever its epoch). */
export const reservePath = (storePath: string): string => `${storePath}.reserve`;

/**
 * Disk space the store's owner holds as a file of its own, beside the data file, and gives up only to
 * get out of a full disk. Every eviction writes WAL frames, and a checkpoint that moves a long WAL into
 * the data file may have to grow it: on a disk filled to the last block (by other software, or by a WAL
 * that a reader kept from wrapping) neither can run, and without space to free nothing could be
 * evicted again. Releasing this file gives the checkpoint and the eviction their room; it is written
 * again once the disk has room for it twice over. Its blocks are written, not sparse, so that they are
 * really held. It occupies the disk like any other file: the free space the disk-bound limit is made of
 * leaves it out, and `maxStoreBytes` does not count it.
 */
export class DiskReserve {
  constructor(
    private readonly storePath: string,
    readonly bytes = RESERVE_FILE_BYTES,
  ) {}

  get path(): string {
    return reservePath(this.storePath);
  }

  /** The bytes held now. */
  held(): number {
    return fileSize(this.path);
  }

  /** Writes the reserve when it is missing or short and the disk has room for it twice over. */
  ensure(): boolean {
    const held = this.held();
    if (held >= this.bytes) return true;
    try {
      const fs = statfsSync(dirname(this.storePath));
      if (fs.bavail * fs.bsize < 2 * (this.bytes - held)) return false;
    } catch {
      return false;
    }
    const fd = openSync(this.path, 'w', 0o600);
    try {
      const chunk = Buffer.alloc(CHUNK_BYTES);
      for (let written = 0; written < this.bytes; written += CHUNK_BYTES)
        writeSync(fd, chunk, 0, Math.min(CHUNK_BYTES, this.bytes - written));
      return true;
    } catch {
      // The disk filled meanwhile: hold nothing rather than part of it.
      this.release();
      return false;
    } finally {
      closeSync(fd);
    }
  }

  /** Gives the space back to the filesystem; returns the bytes freed. */
  release(): number {
    const held = this.held();
    try {
      unlinkSync(this.path);
    } catch {
      return 0;
    }
    return held;
  }
}
