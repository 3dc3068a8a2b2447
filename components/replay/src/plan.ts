import { DrError } from '../../../shared/src/errors';
import type { StoreSettings } from '../../../shared/src/store/settings';
import type { ReplayConfig } from './config';
import type { FleetPlan } from './core/fleet-state';

/** The fleet core's view of the configuration, and the checks that need the store's settings. */

export function planOf(config: ReplayConfig, topics: ReplayConfig['topics']): FleetPlan {
  return {
    regions: config.regions.map((r) => ({
      name: r.name,
      priority: r.priority,
      standby: r.standby,
      drainLinks: r.drainLinks,
    })),
    policy: {
      health: config.health,
      connectTimeoutMs: config.connection.connectTimeoutMs,
      batching: config.batching,
      hedging: {
        ...config.hedging,
        // A hedge must get ahead of the ack timeout it is meant to beat.
        maxDelayMs: Math.min(config.hedging.maxDelayMs, config.connection.ackTimeoutSeconds * 750),
        minDelayMs: Math.min(config.hedging.minDelayMs, config.connection.ackTimeoutSeconds * 750),
      },
      drainLinkIdleMs: config.batching.drainLinkIdleMs,
    },
    topics: { batches: topics.batches, probe: topics.probe },
    inferenceTopic: config.commands.inferenceTopic,
    pinnedRegion: config.pinnedRegion,
    paused: config.paused,
  };
}

/** Settings that change the connections themselves: every link is rebuilt when one of them changes. */
export function needsRelink(before: ReplayConfig, after: ReplayConfig): boolean {
  const key = (c: ReplayConfig): string => JSON.stringify([c.regions, c.connection, c.topics, c.shadow]);
  return key(before) !== key(after);
}

/** Settings that only make sense together with the store's. */
export function checkSettings(config: ReplayConfig, settings: StoreSettings): void {
  const needed = settings.maxRecordBodyBytes + 2 * 1024;
  if (config.batching.maxEnvelopeBytes < needed) {
    throw new DrError(
      'CFG_INVALID',
      `batching.maxEnvelopeBytes ${config.batching.maxEnvelopeBytes} cannot carry the store's largest record ` +
        `(maxRecordBodyBytes ${settings.maxRecordBodyBytes}); use at least ${needed}`,
    );
  }
}
