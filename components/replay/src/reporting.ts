import type { Logger } from '../../../shared/src/logger';
import { publishDocument } from '../../../shared/src/messages/documents';
import type { LocalRuntime } from '../../../shared/src/runtime/port';
import type { StoreMetrics } from '../../../shared/src/store/types';
import type { ReplayConfig } from './config';
import { isSuccessCode } from './core/health';
import type { FleetState } from './core/fleet-state';
import { shadowReported, statusDocument, type StatusContext } from './core/report';
import {
  SHADOW_NEVER_SENT,
  shadowDue,
  shadowNotDelivered,
  shadowUpdate,
  type ShadowState,
} from './core/shadow';
import type { RegionLink } from './ports';

/**
 * The DR shadow (to the active region, on change, rate-limited by the pure rule in core/shadow.ts) and
 * the local status document (every statusIntervalMs on the local bus), carried out on each tick.
 */
export class Reporter {
  private shadow: ShadowState = SHADOW_NEVER_SENT;
  private lastStatusMs = -Infinity;

  constructor(
    private readonly runtime: LocalRuntime,
    private readonly logger: Logger,
  ) {}

  /** Whether this tick publishes something that needs the store's metrics (they cost a query). */
  needsMetrics(config: ReplayConfig, nowMs: number): boolean {
    return (
      nowMs - this.lastStatusMs >= config.statusIntervalMs ||
      shadowDue(this.shadow, nowMs, config.shadow.minIntervalMs)
    );
  }

  onTick(
    state: FleetState,
    config: ReplayConfig,
    topics: ReplayConfig['topics'],
    activeLink: RegionLink | undefined,
    ctx: StatusContext,
  ): void {
    this.publishShadow(state, config, topics, activeLink, ctx.metrics, ctx.nowMs);
    if (ctx.nowMs - this.lastStatusMs >= config.statusIntervalMs) {
      this.lastStatusMs = ctx.nowMs;
      publishDocument(this.runtime, config.statusTopic, statusDocument(state, ctx)).catch((err: unknown) =>
        this.logger.debug({ err: String(err) }, 'local status not published'),
      );
    }
  }

  private publishShadow(
    state: FleetState,
    config: ReplayConfig,
    topics: ReplayConfig['topics'],
    link: RegionLink | undefined,
    metrics: StoreMetrics | null,
    nowMs: number,
  ): void {
    if (link?.connected !== true) return;
    const reported = shadowReported(state, metrics, nowMs);
    const { state: next, update } = shadowUpdate(this.shadow, reported, nowMs, config.shadow.minIntervalMs);
    this.shadow = next;
    if (update === null) return;
    const region = state.active;
    link
      .publish(topics.shadowUpdate, Buffer.from(JSON.stringify(update)), { contentType: 'application/json' })
      .then(
        (o) => {
          if (isSuccessCode(o.reasonCode)) return;
          this.shadow = shadowNotDelivered(this.shadow);
          this.logger.error(
            { region, topic: topics.shadowUpdate, reasonCode: `0x${o.reasonCode.toString(16)}` },
            'shadow update refused: check the IoT policy',
          );
        },
        () => {
          this.shadow = shadowNotDelivered(this.shadow); // send again at the next chance
        },
      );
  }
}
