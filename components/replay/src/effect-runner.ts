import { logStoreRetry } from './store-retry-log';
import { toDrError } from '../../../shared/src/errors';
import type { Envelope } from '../../../shared/src/envelope';
import type { Logger } from '../../../shared/src/logger';
import { publishDocument } from '../../../shared/src/messages/documents';
import type { Probe } from '../../../shared/src/messages/cloud';
import type { LocalRuntime } from '../../../shared/src/runtime/port';
import type { ReplayConfig } from './config';
import type { Effect, FleetInput } from './core/effects';
import type { LinkKey } from './core/flights';
import { toSave } from './core/overrides';
import type { LinkPool } from './link-pool';
import {
  PublishFailed,
  type DrainStore,
  type OverrideStore,
  type PublishOptions,
  type PublishOutcome,
} from './ports';

export interface RunnerDeps {
  readonly pool: LinkPool;
  readonly store: DrainStore;
  readonly overrides: OverrideStore;
  readonly runtime: LocalRuntime;
  readonly logger: Logger;
  config(): ReplayConfig;
  topics(): ReplayConfig['topics'];
  nowMs(): number;
  regionOf(link: LinkKey): string;
  /** Outcomes of publishes go back to the core. */
  dispatch(input: FleetInput): void;
}

type Outcome = { ok: true; value: PublishOutcome } | { ok: false; timedOut: boolean; reason: string };

/**
 * Carries out the fleet core's effects against the ports: links, the store, the override file, the
 * local bus and log lines. Publishes report back as inputs (a PUBACK, a failure, a probe result).
 */
export class EffectRunner {
  /** Payloads of envelopes with a send pending, by batch id. */
  readonly envelopes = new Map<string, Envelope>();
  private lastStoreErrorLogMs = -Infinity;

  constructor(private readonly deps: RunnerDeps) {}

  /** Carries out effects; resolves when the asynchronous ones (a forwarded command) are done. */
  run(effects: readonly Effect[]): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const e of effects) {
      try {
        const p = this.one(e);
        if (p !== undefined) pending.push(p);
      } catch (err) {
        this.deps.logger.error({ err: toDrError(err), effect: e.kind }, 'fault carrying out an effect');
      }
    }
    return Promise.all(pending).then(() => undefined);
  }

  private one(e: Effect): Promise<void> | undefined {
    const d = this.deps;
    switch (e.kind) {
      case 'start-link':
        d.pool.start(e.link, e.generation);
        return undefined;
      case 'stop-link':
        d.pool.stop(e.link);
        return undefined;
      case 'publish-batch': {
        const envelope = this.envelopes.get(e.batchId);
        const sent = this.publish(e.link, d.topics().batches, envelope?.payload, {
          ...(envelope === undefined ? {} : { userProperties: envelope.userProperties }),
          contentType: envelope?.header.encoding === 'gzip' ? 'application/gzip' : 'application/json',
        });
        this.reportBack(sent, (o) =>
          o.ok
            ? {
                type: 'puback',
                sendId: e.sendId,
                reasonCode: o.value.reasonCode,
                latencyMs: o.value.latencyMs,
              }
            : { type: 'publish-failed', sendId: e.sendId, timedOut: o.timedOut, reason: o.reason },
        );
        return undefined;
      }
      case 'forget-batch':
        this.envelopes.delete(e.batchId);
        return undefined;
      case 'ack':
        this.storeOp('ack', () => d.store.ackEnvelopes(e.units));
        return undefined;
      case 'release':
        this.storeOp('release', () => d.store.releaseEnvelopes(e.units));
        return undefined;
      case 'probe': {
        const probe: Probe = { thing: d.runtime.thingName, region: d.regionOf(e.link), atMs: d.nowMs() };
        const sent = this.publish(e.link, d.topics().probe, Buffer.from(JSON.stringify(probe)), {
          contentType: 'application/json',
        });
        this.reportBack(sent, (o) => ({
          type: 'probe-result',
          probeId: e.probeId,
          outcome: o.ok
            ? { kind: 'puback', reasonCode: o.value.reasonCode, latencyMs: o.value.latencyMs }
            : { kind: 'failed', timedOut: o.timedOut, reason: o.reason },
        }));
        return undefined;
      }
      case 'save-overrides': {
        const c = d.config();
        d.overrides.save(toSave(e, { pinnedRegion: c.pinnedRegion, paused: c.paused }));
        return undefined;
      }
      case 'forward-recalibrate':
        return publishDocument(d.runtime, e.topic, e.message);
      case 'log':
        d.logger[e.level](e.fields, e.msg);
        return undefined;
    }
  }

  private reportBack(sent: Promise<Outcome>, input: (o: Outcome) => FleetInput): void {
    sent
      .then((o) => this.deps.dispatch(input(o)))
      .catch((err: unknown) => this.deps.logger.error({ err: toDrError(err) }, 'fault handling a PUBACK'));
  }

  /** A QoS1 publish on a link; never rejects: the outcome says what happened. */
  private async publish(
    key: LinkKey,
    topic: string,
    payload: Uint8Array | undefined,
    options: PublishOptions,
  ): Promise<Outcome> {
    const link = this.deps.pool.get(key);
    try {
      if (link === undefined || payload === undefined)
        throw new PublishFailed(`link ${key} is not running`, false);
      return { ok: true, value: await link.publish(topic, payload, options) };
    } catch (err) {
      return {
        ok: false,
        timedOut: err instanceof PublishFailed && err.timedOut,
        reason: err instanceof Error ? err.message : String(err),
      };
    }
  }

  /** A store call whose failure is logged (rate-limited) rather than thrown: the next read retries. */
  storeOp<T>(action: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      const nowMs = this.deps.nowMs();
      if (nowMs - this.lastStoreErrorLogMs > 5_000) {
        this.lastStoreErrorLogMs = nowMs;
        logStoreRetry(this.deps.logger, err, 'store operation', { action });
      }
      return undefined;
    }
  }
}
