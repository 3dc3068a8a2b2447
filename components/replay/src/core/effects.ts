import type { BatchInfo, LinkKey } from './flights';
import type { FleetPlan, FleetState } from './fleet-state';

/**
 * What the fleet core is told and what it asks for. Inputs are facts (a link connected, a PUBACK
 * arrived, time passed); effects are plain data the shell carries out (start a link, publish an
 * envelope, delete records). Nothing here does anything.
 */

export type Diagnosed = { readonly kind: 'certificate' | 'network'; readonly cause: string };

export type FleetInput =
  | {
      readonly type: 'tick';
      /** Records beyond the live window, from the store's metrics; null when unknown. */
      readonly backlogRecords: number | null;
      /** When those metrics were taken (the tick's own time when left out). */
      readonly metricsAtMs?: number;
    }
  /** A new configuration; `relink` when connection settings changed (every link is rebuilt). */
  | { readonly type: 'configure'; readonly plan: FleetPlan; readonly relink: boolean }
  | { readonly type: 'link-connected'; readonly link: LinkKey; readonly generation: number }
  | {
      readonly type: 'link-disconnected';
      readonly link: LinkKey;
      readonly generation: number;
      readonly reason: string;
    }
  | {
      readonly type: 'link-failed';
      readonly link: LinkKey;
      readonly generation: number;
      readonly diagnosis: Diagnosed;
    }
  /**
   * Records read from the store and packed into envelopes, in drain order, waiting for a link (none
   * when the read found nothing); `backlog` when the read reached records beyond the live window or
   * was cut short by its budget.
   */
  | { readonly type: 'batches'; readonly batches: readonly BatchInfo[]; readonly backlog: boolean }
  | {
      readonly type: 'puback';
      readonly sendId: number;
      readonly reasonCode: number;
      readonly latencyMs: number;
    }
  | {
      readonly type: 'publish-failed';
      readonly sendId: number;
      readonly timedOut: boolean;
      readonly reason: string;
    }
  | {
      readonly type: 'probe-result';
      readonly probeId: number;
      readonly outcome:
        | { readonly kind: 'puback'; readonly reasonCode: number; readonly latencyMs: number }
        | { readonly kind: 'failed'; readonly timedOut: boolean; readonly reason: string };
    };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Effect =
  | { readonly kind: 'start-link'; readonly link: LinkKey; readonly generation: number }
  | { readonly kind: 'stop-link'; readonly link: LinkKey }
  | {
      readonly kind: 'publish-batch';
      readonly batchId: string;
      readonly sendId: number;
      readonly link: LinkKey;
    }
  /** The envelope has no send pending any more: its payload can go. */
  | { readonly kind: 'forget-batch'; readonly batchId: string }
  /** Delete records: a region acknowledged them. */
  | { readonly kind: 'ack'; readonly units: readonly string[] }
  /** Give leased records back to the store, to be read again. */
  | { readonly kind: 'release'; readonly units: readonly string[] }
  | { readonly kind: 'probe'; readonly link: LinkKey; readonly probeId: number }
  | { readonly kind: 'save-overrides'; readonly pinnedRegion: string | null; readonly paused: boolean }
  | {
      readonly kind: 'forward-recalibrate';
      readonly topic: string;
      readonly message: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'log';
      readonly level: LogLevel;
      readonly msg: string;
      readonly fields: Readonly<Record<string, unknown>>;
    };

export interface Step {
  readonly state: FleetState;
  readonly effects: readonly Effect[];
}

/** The state and effects of one step while it is being worked out (local to one call). */
export interface Acc {
  state: FleetState;
  readonly effects: Effect[];
}

export function log(acc: Acc, level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  acc.effects.push({ kind: 'log', level, msg, fields });
}
