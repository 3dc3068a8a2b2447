import type { Clock } from '../clock';
import { toDrError } from '../errors';
import type { Logger } from '../logger';
import { publishDocument } from '../messages/documents';
import type { LocalRuntime } from '../runtime/port';
import type { StoreEvent } from './types';

/**
 * How a component reports what its store handle tells it: one log line and one document on the store's
 * events topic, whoever's handle saw it. The Buffer's maintenance and Ingest's appends both evict when
 * the store is over its quota or the disk is full; each eviction is reported once, by the component
 * whose transaction ran it (`component` in the document says which).
 */
export function reportStoreEvent(
  deps: { readonly logger: Logger; readonly runtime: LocalRuntime; readonly clock: Clock },
  topic: string,
  component: string,
  event: StoreEvent,
): void {
  const { logger, runtime } = deps;
  switch (event.type) {
    case 'recreated':
      logger.error(
        {
          code: event.code,
          path: event.path,
          quarantinedTo: event.quarantinedTo,
          reason: event.reason,
          lostEpoch: event.lostEpoch,
          lostRecords: event.lostRecords,
          gapMarkerId: event.gapMarkerId,
        },
        event.cause === 'damaged'
          ? 'store was damaged: moved aside and recreated'
          : 'store file was deleted or replaced: a fresh store was created, the lost epoch is named by a gap marker',
      );
      break;
    case 'eviction': {
      const r = event.report;
      logger.warn(
        {
          evictedRecords: r.evictedRecords,
          reason: r.reason,
          fromTsMs: r.fromTsMs,
          toTsMs: r.toTsMs,
          gapMarkerId: r.gapMarkerId,
        },
        r.reason === 'disk'
          ? 'the disk is full: oldest records evicted, gap marker written'
          : 'store quota reached: oldest records evicted, gap marker written',
      );
      break;
    }
    case 'relinked':
      logger.error(
        { path: event.path, setAsideTo: event.setAsideTo },
        'the store path was removed or replaced while its data file is intact: link restored',
      );
      break;
    case 'block-damaged':
      logger.error(
        {
          blockId: event.blockId,
          records: event.records,
          reason: event.reason,
          gapMarkerId: event.gapMarkerId,
        },
        'a compacted block is damaged: dropped and named by a gap marker',
      );
      break;
    case 'reserve-released':
      logger.error(
        { path: event.path, bytes: event.bytes },
        'the disk is full to its last block: the store gave up its reserve file to make room (free space on the disk, or it is full again soon)',
      );
      break;
  }
  publishDocument(runtime, topic, { component, atMs: deps.clock.nowMs(), ...event }).catch((err: unknown) =>
    logger.warn({ err: toDrError(err) }, 'could not publish a store event'),
  );
}
