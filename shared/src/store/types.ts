import type { DrRecord, Lane, NewRecord } from '../record';
import type { EnvelopeRequest, ReadyEnvelope } from './drain';
import type { WriteStats } from './write-tx';

export type { EnvelopeRequest, ReadyEnvelope } from './drain';
export type { WriteStats } from './write-tx';

export interface StoredRecord extends DrRecord {
  /** The store sequence behind the id; larger means appended later. */
  readonly seq: number;
  /** Approximate encoded size, the unit of batch byte bounds and quota estimates. */
  readonly sizeBytes: number;
}

export interface AppendResult {
  readonly ids: readonly string[];
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Set when this append had to evict to stay under the quota. */
  readonly eviction?: EvictionReport;
}

export interface AckResult {
  readonly acknowledged: number;
  readonly notFound: readonly string[];
}

export interface BatchRequest {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

export interface DeadLetterInput {
  /** Where it came from: a topic, `mqtt:<filter>`, a file. */
  readonly source: string;
  /** A short stable reason code, e.g. `not_json`, `schema`, `oversize`. */
  readonly reason: string;
  /** Human-readable detail (no payload contents). */
  readonly detail: string;
  readonly raw: Uint8Array;
}

export interface DeadLetter {
  readonly id: number;
  readonly atMs: number;
  readonly source: string;
  readonly reason: string;
  readonly detail: string;
  /** The first maxRawBytes of the input. */
  readonly raw: Buffer;
  /** The input's full length. */
  readonly rawBytes: number;
}

import type { StreamGap } from '../gap-markers';

export type { StreamGap };

export interface EvictionReport {
  /** What set the limit: the quota (`maxStoreBytes`) or the filesystem's free space. */
  readonly reason: 'quota' | 'disk';
  readonly evictedRecords: number;
  readonly byStream: Readonly<Record<string, StreamGap>>;
  readonly fromTsMs: number;
  readonly toTsMs: number;
  readonly usedBytesBefore: number;
  readonly usedBytesAfter: number;
  readonly gapMarkerId: string;
}

export interface LaneMetrics {
  readonly depth: number;
  readonly bytes: number;
  readonly oldestTsMs: number | null;
  readonly oldestAgeMs: number | null;
}

export interface StoreMetrics {
  readonly lanes: Readonly<Record<Lane, LaneMetrics>>;
  readonly liveTelemetryDepth: number;
  /** Pages in use (excluding free pages) times page size. */
  readonly usedBytes: number;
  readonly fileBytes: number;
  readonly walBytes: number;
  /** What the store occupies on disk that counts against the quota: pages in use and the WAL. */
  readonly bytesAtRest: number;
  readonly maxStoreBytes: number;
  /** The quota in force: the smaller of maxStoreBytes and what the disk can still hold less its reserve. */
  readonly effectiveLimitBytes: number;
  /** True when the disk, not maxStoreBytes, sets the limit. */
  readonly diskBound: boolean;
  /** Compacted blocks, and the records they still hold. */
  readonly blocks: number;
  readonly recordsInBlocks: number;
  readonly compactedRecordsTotal: number;
  readonly appendedTotal: number;
  readonly acknowledgedTotal: number;
  readonly evictedRecordsTotal: number;
  readonly evictionRoundsTotal: number;
  readonly deadLettersTotal: number;
  readonly deadLettersStored: number;
  readonly deadLettersDroppedTotal: number;
  readonly deadLettersByReason: Readonly<Record<string, number>>;
}

export type StoreEvent =
  | {
      readonly type: 'recreated';
      readonly code: 'STORE_RECREATED';
      readonly path: string;
      /** Where the lost store's files were set aside ('' when nothing was left of them). */
      readonly quarantinedTo: string;
      readonly reason: string;
      /** `damaged` (quarantined), or `replaced` (its data file deleted or replaced under the suite). */
      readonly cause: 'damaged' | 'replaced';
      /** The epoch whose undelivered records are lost, when known; the gap marker names them. */
      readonly lostEpoch: string | null;
      readonly lostRecords: number | null;
      readonly gapMarkerId: string;
    }
  | { readonly type: 'eviction'; readonly report: EvictionReport }
  | {
      /** The store path's link was removed or a file was put in its place; the link was restored. */
      readonly type: 'relinked';
      readonly path: string;
      readonly setAsideTo: string | null;
    }
  | {
      /** A block failed its checksum or could not be decoded: dropped and named by a gap marker. */
      readonly type: 'block-damaged';
      readonly blockId: number;
      readonly records: number;
      readonly gapMarkerId: string;
      readonly reason: string;
    }
  | {
      /**
       * The disk was full to its last block and not even a checkpoint could run: the owner deleted its
       * reserve file to make room (it is written again once the disk has room).
       */
      readonly type: 'reserve-released';
      readonly path: string;
      readonly bytes: number;
    };

/** The port every component uses for the durable record store. */
export interface RecordStore {
  readonly gatewayId: string;
  readonly epoch: string;
  append(records: readonly NewRecord[]): AppendResult;
  nextBatch(request: BatchRequest): StoredRecord[];
  ack(ids: readonly string[]): AckResult;
  release(ids: readonly string[]): void;
  deadLetter(entries: readonly DeadLetterInput[]): void;
  listDeadLetters(limit: number, afterId?: number): DeadLetter[];
  /** Ready-to-send envelopes in drain order (blocks as stored), each leased until acked or released. */
  nextEnvelopes(request: EnvelopeRequest): ReadyEnvelope[];
  /** After their PUBACKs: deletes what the envelopes carried (a block as a whole). */
  ackEnvelopes(unitIds: readonly string[]): UnitAckResult;
  releaseEnvelopes(unitIds: readonly string[]): void;
  metrics(): StoreMetrics;
  enforceQuota(): EvictionReport | null;
  maintain(): MaintenanceReport;
  /** True when the file at the store's path is no longer the one this handle has open. */
  fileReplaced(): boolean;
  writeStats(): WriteStats;
  close(): void;
}

export interface UnitAckResult {
  readonly acknowledged: number;
  /**
   * Records no longer stored when acknowledged: evicted in flight (also named by a gap marker), or
   * deleted already by a late acknowledgement of a unit given back that carried them too.
   */
  readonly missing: number;
  /**
   * Unit ids this handle does not know: acknowledged before, given back too long ago (the newest
   * RELEASED_UNITS_KEPT are remembered), or of another handle.
   */
  readonly unknownUnits: readonly string[];
}

export interface MaintenanceReport {
  readonly checkpointedFrames: number;
  readonly walFrames: number;
  readonly busy: boolean;
  readonly vacuumedPages: number;
  readonly eviction: EvictionReport | null;
  /** Records compacted into a block in this round. */
  readonly compactedRecords: number;
  /** Blocks whose checksums were verified in this round. */
  readonly checkedBlocks: number;
  /** Work remains (over quota, or records waiting for compaction): call again soon. */
  readonly more: boolean;
}
