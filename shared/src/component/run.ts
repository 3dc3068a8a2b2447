import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { parseConfig } from '../config';
import { DrError, toDrError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { GreengrassIpcRuntime } from '../runtime/greengrass-ipc-runtime';
import type { LocalRuntime, Subscription } from '../runtime/port';
import { ConfigurationGuard, withoutAccessControl, type ConfigurationStatus } from './config-guard';
import { HEAP_COLLECTION_INTERVAL_MS, startHeapCollection } from './heap-collection';

export interface ComponentDeps<C> {
  readonly runtime: LocalRuntime;
  readonly config: Readonly<C>;
  readonly logger: Logger;
  readonly clock: Clock;
  /** For the component's metrics: validation by the nucleus, refused configurations. */
  readonly configurationStatus: Readonly<ConfigurationStatus>;
}

export interface RunningService<C> {
  /** A new, already validated configuration (from a deployment or UpdateConfiguration). */
  applyConfig(config: Readonly<C>): Promise<void>;
  /** Stops within the nucleus's budget (SIGTERM, then SIGKILL about 5 s later). */
  stop(): Promise<void>;
}

export interface ComponentDefinition<S extends z.ZodType> {
  readonly name: string;
  readonly version: string;
  readonly schema: S;
  /**
   * Checks a schema cannot make (files on this device, values that depend on the thing name), run at
   * start, for every proposed deployment and before a change is applied. Returns the problems found.
   */
  check?(config: Readonly<z.output<S>>, thingName: string): string[];
  start(deps: ComponentDeps<z.output<S>>): Promise<RunningService<z.output<S>>>;
}

export { withoutAccessControl } from './config-guard';

const STOP_BUDGET_MS = 4_000;

/**
 * The SHA-256 of the running bundle, from the build-info.json the build puts beside it; null when run
 * from source. Logged where a stack trace may follow, so `npm run stack` picks the map of this very build.
 */
function bundleSha256(): string | null {
  try {
    const info = JSON.parse(readFileSync(join(__dirname, 'build-info.json'), 'utf8')) as {
      bundleSha256?: unknown;
    };
    return typeof info.bundleSha256 === 'string' ? info.bundleSha256 : null;
  } catch {
    return null;
  }
}

/**
 * The lifecycle every component shares: connect to Greengrass, validate configuration (at start, for
 * every proposed deployment where the nucleus asks, and for every change that arrives), start the
 * service, report RUNNING, follow configuration changes, stop on SIGTERM. The exit code is decided here
 * only: 0 after a clean stop, 1 after a fatal fault.
 *
 * Under nucleus lite there are no validation requests and configurations arrive unchecked: an invalid
 * one is refused by keeping the last good configuration (remembered in the work directory, so a
 * restart keeps it too), logged and counted in the component's metrics, never a crash loop.
 */
export async function runComponent<S extends z.ZodType>(def: ComponentDefinition<S>): Promise<number> {
  // Everything a component writes (the store and its WAL, saved models, overrides, the last good
  // configuration) is for its own user only: files 0600, directories 0700.
  process.umask(0o077);
  const bootLog = createLogger({
    component: def.name,
    version: def.version,
    thing: process.env['AWS_IOT_THING_NAME'] ?? 'unknown-thing',
  });
  const heap = startHeapCollection();
  const bundle = bundleSha256();
  let runtime: GreengrassIpcRuntime | undefined;
  let service: RunningService<z.output<S>> | undefined;
  const subscriptions: Subscription[] = [];
  let settle: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => {
    settle = resolve;
  });

  const shutdown = async (code: number, reason: string, err?: unknown): Promise<void> => {
    if (code === 0) bootLog.info({ reason }, 'stopping');
    else
      bootLog.error(
        { err: err === undefined ? undefined : toDrError(err), reason, bundleSha256: bundle },
        'stopping after a fatal fault',
      );
    heap.stop();
    const hardStop = setTimeout(() => settle(code), STOP_BUDGET_MS);
    hardStop.unref();
    try {
      await Promise.all(subscriptions.map((s) => s.close().catch(() => undefined)));
      await service?.stop();
      if (code !== 0) await runtime?.reportState('ERRORED').catch(() => undefined);
      await runtime?.close();
    } catch (stopErr) {
      bootLog.warn({ err: toDrError(stopErr) }, 'fault while stopping');
    }
    clearTimeout(hardStop);
    settle(code);
  };

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void shutdown(0, signal);
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  try {
    runtime = await GreengrassIpcRuntime.connect({ componentName: def.name, logger: bootLog });
    const rt = runtime;
    rt.onLost((err) => {
      if (stopping) return;
      stopping = true;
      void shutdown(1, 'IPC connection lost', err);
    });
    const clock = systemClock;
    const guard = new ConfigurationGuard(
      def.schema,
      def.check === undefined ? undefined : (c) => def.check?.(c, rt.thingName) ?? [],
      rt.workDir,
    );
    const raw = await rt.getConfiguration([]);
    const { config, logger } = startingConfiguration(def, guard, raw, rt.thingName, clock.nowMs(), bootLog);
    const validation = await rt.validateConfiguration((proposed) => {
      const verdict = guard.judge(proposed);
      if (!verdict.ok) {
        logger.warn({ problems: verdict.message }, 'refusing a proposed configuration');
        return { ok: false, message: verdict.message };
      }
      return { ok: true };
    });
    guard.status.validatedByNucleus = validation !== null;
    if (validation === null)
      logger.info(
        'this nucleus does not ask components to validate deployments: an invalid configuration is refused when it arrives, and the last good one keeps running',
      );
    else subscriptions.push(validation);
    service = await def.start({
      runtime: rt,
      config,
      logger,
      clock,
      configurationStatus: guard.status,
    });
    const running = service;

    // Configuration changes arrive as key paths; re-read the whole configuration once they settle.
    let reload: NodeJS.Timeout | undefined;
    subscriptions.push(
      await rt.watchConfiguration(() => {
        clearTimeout(reload);
        reload = setTimeout(() => {
          rt.getConfiguration([])
            .then(async (next) => {
              const verdict = guard.judge(next);
              if (!verdict.ok) {
                guard.refused(verdict.message, clock.nowMs());
                logger.error(
                  { problems: verdict.message },
                  'configuration change refused: the last good configuration keeps running',
                );
                return;
              }
              await running.applyConfig(verdict.value);
              guard.accepted(next, clock.nowMs());
              logger.info('configuration applied');
            })
            .catch((err: unknown) =>
              logger.error({ err: toDrError(err) }, 'could not apply a configuration change'),
            );
        }, 100);
      }),
    );
    // A nucleus without a health daemon may refuse the report: the component still runs.
    await rt
      .reportState('RUNNING')
      .catch((err: unknown) => logger.warn({ err: toDrError(err) }, 'could not report RUNNING'));
    logger.info(
      {
        heapCollectionEveryS: heap.active ? HEAP_COLLECTION_INTERVAL_MS / 1_000 : null,
        bundleSha256: bundle,
      },
      'running',
    );
  } catch (err) {
    if (!stopping) {
      stopping = true;
      const fatal = err instanceof DrError ? err : toDrError(err);
      await shutdown(1, fatal.code, fatal);
    }
  }
  return finished;
}

/**
 * The configuration to start with: the nucleus's when it is good, else the last good one this device
 * ran with (said loudly), else a fatal CFG_INVALID (there is nothing sound to run).
 */
function startingConfiguration<S extends z.ZodType>(
  def: ComponentDefinition<S>,
  guard: ConfigurationGuard<S>,
  raw: unknown,
  thingName: string,
  nowMs: number,
  bootLog: Logger,
): { config: Readonly<z.output<S>>; logger: Logger } {
  const verdict = guard.judge(raw);
  let config: Readonly<z.output<S>>;
  if (verdict.ok) {
    config = parseConfig(def.schema, withoutAccessControl(raw), `${def.name} configuration`);
    guard.accepted(raw, nowMs);
  } else {
    const last = guard.lastGood();
    if (last === undefined)
      throw new DrError('CFG_INVALID', `${def.name} configuration: ${verdict.message}`, {
        details: { problems: verdict.message },
      });
    guard.refused(verdict.message, nowMs);
    bootLog.error(
      { problems: verdict.message, lastGoodSavedAt: new Date(last.savedAtMs).toISOString() },
      'configuration refused: starting with the last good configuration of this device',
    );
    config = parseConfig(def.schema, withoutAccessControl(last.raw), `${def.name} last good configuration`);
  }
  const level = (config as { logLevel?: unknown }).logLevel;
  const logger = createLogger({
    component: def.name,
    version: def.version,
    thing: thingName,
    ...(typeof level === 'string' ? { level: level as 'info' } : {}),
  });
  return { config, logger };
}

/** For main.ts: runs the component and exits the process with its code. */
export function main<S extends z.ZodType>(def: ComponentDefinition<S>): void {
  runComponent(def)
    .then((code) => process.exit(code))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
