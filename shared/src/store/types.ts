import type { DrRecord, Lane, NewRecord } from '../record';

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
  /** Pages in use (excluding free pages) times page size: what the quota is measured against. */
  readonly usedBytes: number;
  readonly fileBytes: number;
  readonly walBytes: number;
  readonly maxStoreBytes: number;
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
      readonly quarantinedTo: string;
      readonly reason: string;
    }
  | { readonly type: 'eviction'; readonly report: EvictionReport };

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
  metrics(): StoreMetrics;
  enforceQuota(): EvictionReport | null;
  maintain(): MaintenanceReport;
  /** True when the file at the store's path is no longer the one this handle has open. */
  fileReplaced(): boolean;
  close(): void;
}

export interface MaintenanceReport {
  readonly checkpointedFrames: number;
  readonly walFrames: number;
  readonly busy: boolean;
  readonly vacuumedPages: number;
  readonly eviction: EvictionReport | null;
}
