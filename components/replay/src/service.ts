import type { ComponentDeps, RunningService } from '../../../shared/src/component/run';
import { toDrError } from '../../../shared/src/errors';
import type { Logger } from '../../../shared/src/logger';
import type { Command, CommandReply } from '../../../shared/src/messages/cloud';
import type { StoreMetrics } from '../../../shared/src/store/types';
import { CommandChannel } from './command-channel';
import { resolveTopics, type ReplayConfig } from './config';
import type { FleetInput } from './core/effects';
import { nextDeadlineMs, startFleet, step } from './core/fleet';
import type { FleetState } from './core/fleet-state';
import { applyCommand } from './core/operator';
import { overridesInForce } from './core/overrides';
import { backlogRecords } from './core/report';
import { Drain } from './drain';
import { EffectRunner } from './effect-runner';
import { LinkPool } from './link-pool';
import { checkSettings, needsRelink, planOf } from './plan';
import {
  type DrainStore,
  type LinkFactory,
  type LinkSpec,
  type OverrideStore,
  type SeenCommandStore,
} from './ports';
import { Reporter } from './reporting';

export interface ReplayDeps extends ComponentDeps<ReplayConfig> {
  readonly store: DrainStore;
  readonly links: LinkFactory;
  readonly overrides: OverrideStore;
  readonly seenCommands: SeenCommandStore;
}

const TICK_MS = 100;
const METRICS_MAX_AGE_MS = 1_000;

/**
 * Replay's shell: it feeds the fleet core (`core/fleet.ts`) with facts — link events, PUBACKs, failures,
 * ticks, envelopes read — and carries out the effects it returns: links started and stopped, envelopes
 * published, records deleted or released, probes, overrides saved, log lines. The decisions are all in
 * the core; what is here is I/O and timing.
 */
export class ReplayService implements RunningService<ReplayConfig> {
  private config: ReplayConfig;
  private topics: ReplayConfig['topics'];
  private state: FleetState;
  private readonly queue: FleetInput[] = [];
  private stepping = false;
  private closing = false;
  private readonly pool: LinkPool;
  private readonly runner: EffectRunner;
  private readonly drain: Drain;
  private readonly commands: CommandChannel;
  private readonly reporter: Reporter;
  private metricsCache: { atMs: number; metrics: StoreMetrics } | null = null;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly logger: Logger;

  static start(deps: ReplayDeps): ReplayService {
    checkSettings(deps.config, deps.store.settings);
    deps.logger.info(
      {
        regions: deps.config.regions.map((r) => ({
          name: r.name,
          endpoint: `${r.endpoint}:${r.port}`,
          priority: r.priority,
          standby: r.standby,
          drainLinks: r.drainLinks,
          iotCoreFlowControl: r.iotCoreFlowControl,
        })),
      },
      'regions configured',
    );
    if (deps.config.regions.length === 0)
      deps.logger.error(
        'no regions configured: records stay in the store until a deployment configures regions',
      );
    const service = new ReplayService(deps);
    service.loops.push(service.drain.run(service.abort.signal), service.tickLoop());
    return service;
  }

  private constructor(private readonly deps: ReplayDeps) {
    this.config = deps.config;
    this.logger = deps.logger;
    this.topics = resolveTopics(deps.config, deps.runtime.thingName);
    const fromConfig = { pinnedRegion: deps.config.pinnedRegion, paused: deps.config.paused };
    const overrides = overridesInForce(
      deps.overrides.load(),
      fromConfig,
      deps.config.regions.map((r) => r.name),
    );
    if (overrides.pinnedRegion !== fromConfig.pinnedRegion || overrides.paused !== fromConfig.paused)
      this.logger.warn(overrides, 'operator overrides from a command are in force');
    this.pool = new LinkPool(
      deps.links,
      (key) => this.specOf(key),
      (input) => this.dispatch(input),
      (key, topic, payload, correlation) => {
        const link = this.state.links.get(key);
        if (link?.slot === 0 && topic === this.topics.commands)
          this.commands.handle(link.region, payload, correlation);
      },
    );
    this.runner = new EffectRunner({
      pool: this.pool,
      store: deps.store,
      overrides: deps.overrides,
      runtime: deps.runtime,
      logger: deps.logger,
      config: () => this.config,
      topics: () => this.topics,
      nowMs: () => this.now(),
      regionOf: (key) => this.state.links.get(key)?.region ?? key,
      dispatch: (input) => this.dispatch(input),
    });
    this.reporter = new Reporter(deps.runtime, deps.logger);
    this.commands = new CommandChannel(
      {
        config: () => this.config,
        logger: deps.logger,
        nowMs: () => this.now(),
        execute: (command, via) => this.execute(command, via),
        reply: (via, reply, correlation) => this.reply(via, reply, correlation),
      },
      deps.seenCommands,
    );
    this.drain = new Drain({
      store: deps.store,
      logger: deps.logger,
      nowMs: () => this.now(),
      state: () => this.state,
      config: () => this.config,
      submit: (envelopes, batches, backlog) => {
        for (const e of envelopes) this.runner.envelopes.set(e.header.batchId, e);
        this.dispatch({ type: 'batches', batches, backlog });
      },
    });
    const first = startFleet(planOf(this.config, this.topics), overrides, this.now());
    this.state = first.state;
    this.background(this.runner.run(first.effects));
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }

  private specOf(key: string): LinkSpec | undefined {
    const link = this.state.links.get(key);
    const region = this.config.regions.find((r) => r.name === link?.region);
    if (link === undefined || region === undefined) return undefined;
    return {
      region,
      slot: link.slot,
      connection: this.config.connection,
      topics: { presence: this.topics.presence, commands: this.topics.commands },
    };
  }

  // ---- the core and its effects --------------------------------------------------------------------

  /** Feeds one input to the core; inputs that arrive while a step's effects run wait their turn. */
  private dispatch(input: FleetInput): void {
    if (this.closing) return; // what is still in flight is released; the next start resends it
    this.queue.push(input);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        const result = step(this.state, next, this.now());
        this.state = result.state;
        this.background(this.runner.run(result.effects));
      }
    } finally {
      this.stepping = false;
    }
    this.drain.wake();
  }

  private background(done: Promise<void>): void {
    done.catch((err: unknown) => this.logger.error({ err: toDrError(err) }, 'fault carrying out an effect'));
  }

  /** The store's metrics (they cost a query, so at most one per second) and when they were taken. */
  private storeMetrics(): { readonly atMs: number; readonly metrics: StoreMetrics } | null {
    const nowMs = this.now();
    if (this.metricsCache === null || nowMs - this.metricsCache.atMs >= METRICS_MAX_AGE_MS) {
      const metrics = this.runner.storeOp('metrics', () => this.deps.store.metrics());
      if (metrics !== undefined) this.metricsCache = { atMs: nowMs, metrics };
    }
    return this.metricsCache;
  }

  // ---- commands --------------------------------------------------------------------------------------

  private async execute(command: Command, via: string): Promise<CommandReply> {
    const nowMs = this.now();
    const applied = applyCommand(this.state, command, {
      thing: this.deps.runtime.thingName,
      via,
      metrics: this.storeMetrics()?.metrics ?? null,
      nowMs,
      commands: this.commands.counters,
      configuration: this.deps.configurationStatus,
    });
    this.state = applied.state;
    const done = this.runner.run(applied.effects);
    this.drain.wake();
    try {
      await done;
      return applied.reply;
    } catch (err) {
      const e = toDrError(err);
      return {
        id: command.id,
        type: command.type,
        status: 'failed',
        reason: e.code,
        detail: e.message,
        region: via,
        atMs: this.now(),
      };
    }
  }

  private reply(via: string, reply: CommandReply, correlation: Uint8Array | undefined): void {
    const link = this.pool.get(via);
    if (link === undefined) return;
    link
      .publish(this.topics.commandReplies, Buffer.from(JSON.stringify(reply)), {
        contentType: 'application/json',
        ...(correlation === undefined ? {} : { correlationData: correlation }),
      })
      .catch((err: unknown) =>
        this.logger.warn({ region: via, err: String(err) }, 'command reply not delivered'),
      );
  }

  // ---- time --------------------------------------------------------------------------------------------

  /** Ticks every TICK_MS, or sooner when an envelope is about to become late (hedging). */
  private async tickLoop(): Promise<void> {
    while (!this.abort.signal.aborted) {
      const deadline = nextDeadlineMs(this.state, this.now());
      const waitMs = deadline === null ? TICK_MS : Math.min(TICK_MS, Math.max(1, deadline - this.now() + 1));
      try {
        await this.deps.clock.sleep(waitMs, this.abort.signal);
      } catch {
        return;
      }
      try {
        const snapshot = this.reporter.needsMetrics(this.config, this.now()) ? this.storeMetrics() : null;
        const metrics = snapshot?.metrics ?? null;
        this.dispatch(
          snapshot === null
            ? { type: 'tick', backlogRecords: null }
            : { type: 'tick', backlogRecords: backlogRecords(snapshot.metrics), metricsAtMs: snapshot.atMs },
        );
        const active = this.state.active === null ? undefined : this.pool.get(this.state.active);
        this.reporter.onTick(this.state, this.config, this.topics, active, {
          thing: this.deps.runtime.thingName,
          metrics,
          nowMs: this.now(),
          commands: this.commands.counters,
          configuration: this.deps.configurationStatus,
        });
      } catch (err) {
        this.logger.error({ err: toDrError(err) }, 'fault in the replay housekeeping tick');
      }
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------

  applyConfig(config: ReplayConfig): Promise<void> {
    checkSettings(config, this.deps.store.settings);
    const relink = needsRelink(this.config, config);
    this.config = config;
    this.topics = resolveTopics(config, this.deps.runtime.thingName);
    this.dispatch({ type: 'configure', plan: planOf(config, this.topics), relink });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.drain.wake();
    await Promise.all(this.loops);
    const unsettled = [...this.state.ledger.flights.values()]
      .filter((f) => f.ackedBy === null && !f.released)
      .map((f) => f.unitId);
    if (unsettled.length > 0)
      this.runner.storeOp('release', () => this.deps.store.releaseEnvelopes(unsettled));
    this.closing = true;
    await this.pool.stopAll();
    this.deps.store.close();
  }
}
