import type { EnvelopeRequest, ReadyEnvelope } from '../../../shared/src/store/drain';
import type { StoreMetrics, UnitAckResult } from '../../../shared/src/store/types';
import type { StoreSettings } from '../../../shared/src/store/settings';
import type { ReplayConfig } from './config';
import type { Diagnosed } from './core/effects';
import type { SavedOverrides } from './core/overrides';
import type { SeenCommands } from './core/seen-commands';
import type { RegionConfig } from './regions';

/** Replay's ports, by role. Adapters (by technology) are built in main.ts and injected. */

export interface PublishOptions {
  readonly userProperties?: readonly { readonly name: string; readonly value: string }[];
  readonly correlationData?: Uint8Array;
  readonly contentType?: string;
}

export interface PublishOutcome {
  readonly reasonCode: number;
  readonly latencyMs: number;
}

/** Raised when a publish fails without a PUBACK (ack timeout, connection lost, client stopped). */
export class PublishFailed extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'PublishFailed';
  }
}

export interface LinkEvents {
  connected(): void;
  disconnected(reason: string): void;
  /** A connection attempt failed; the diagnosis names the cause (certificate problems are not retried). */
  connectFailed(diagnosis: Diagnosed): void;
  message(topic: string, payload: Uint8Array, correlationData: Uint8Array | undefined): void;
}

/** One connection to a region. A link reconnects by itself until stopped. */
export interface RegionLink {
  readonly connected: boolean;
  start(): void;
  /** A QoS1 publish; resolves with the PUBACK's reason code, rejects with PublishFailed without one. */
  publish(topic: string, payload: Uint8Array, options?: PublishOptions): Promise<PublishOutcome>;
  /** Disconnects cleanly (a primary link says offline first) and frees the client. */
  stop(): Promise<void>;
}

export interface LinkSpec {
  readonly region: RegionConfig;
  /** 0: the primary connection (presence, will, commands); 1..n: drain links (batches only). */
  readonly slot: number;
  readonly connection: ReplayConfig['connection'];
  readonly topics: { readonly presence: string; readonly commands: string };
}

export type LinkFactory = (spec: LinkSpec, events: LinkEvents) => RegionLink;

/**
 * The store's drain side: ready envelopes in lane priority, each leased as a unit until its
 * acknowledgement deletes what it carries or its release gives it back; metrics.
 */
export interface DrainStore {
  readonly settings: StoreSettings;
  nextEnvelopes(request: EnvelopeRequest): ReadyEnvelope[];
  ackEnvelopes(units: readonly string[]): UnitAckResult;
  releaseEnvelopes(units: readonly string[]): void;
  metrics(): StoreMetrics;
  close(): void;
}

/** Where operator overrides set by command are kept across restarts. */
export interface OverrideStore {
  load(): SavedOverrides | null;
  save(overrides: SavedOverrides): void;
}

/** Where accepted command ids are kept across restarts. */
export interface SeenCommandStore {
  load(): SeenCommands;
  save(seen: SeenCommands): void;
}
