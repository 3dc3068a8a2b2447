import type { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { checkConfig, parseConfig } from '../config';
import { DrError, toDrError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { GreengrassIpcRuntime } from '../runtime/greengrass-ipc-runtime';
import type { LocalRuntime, Subscription } from '../runtime/port';

export interface ComponentDeps<C> {
  readonly runtime: LocalRuntime;
  readonly config: Readonly<C>;
  readonly logger: Logger;
  readonly clock: Clock;
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

/** `accessControl` lives in a component's configuration on Greengrass but is the nucleus's, not ours. */
export function withoutAccessControl(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { accessControl: _ignored, ...rest } = raw as Record<string, unknown>;
  return rest;
}

const STOP_BUDGET_MS = 4_000;

/**
 * The lifecycle every component shares: connect to Greengrass, validate configuration (at start and for
 * every proposed deployment), start the service, report RUNNING, follow configuration changes, stop on
 * SIGTERM. The exit code is decided here only: 0 after a clean stop, 1 after a fatal fault.
 */
export async function runComponent<S extends z.ZodType>(def: ComponentDefinition<S>): Promise<number> {
  const bootLog = createLogger({
    component: def.name,
    version: def.version,
    thing: process.env['AWS_IOT_THING_NAME'] ?? 'unknown-thing',
  });
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
        { err: err === undefined ? undefined : toDrError(err), reason },
        'stopping after a fatal fault',
      );
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
    const raw = await rt.getConfiguration([]);
    const config = parseConfig(def.schema, withoutAccessControl(raw), `${def.name} configuration`);
    const problems = def.check?.(config, rt.thingName) ?? [];
    if (problems.length > 0) {
      throw new DrError('CFG_INVALID', `${def.name} configuration: ${problems.join('; ')}`, {
        details: { problems },
      });
    }
    const level = (config as { logLevel?: unknown }).logLevel;
    const logger = createLogger({
      component: def.name,
      version: def.version,
      thing: rt.thingName,
      ...(typeof level === 'string' ? { level: level as 'info' } : {}),
    });
    subscriptions.push(
      await rt.validateConfiguration((proposed) => {
        const verdict = checkConfig(def.schema, withoutAccessControl(proposed));
        if (!verdict.ok) {
          logger.warn({ problems: verdict.problems }, 'refusing a proposed configuration');
          return { ok: false, message: verdict.message };
        }
        const problems = def.check?.(verdict.value, rt.thingName) ?? [];
        if (problems.length > 0) {
          logger.warn({ problems }, 'refusing a proposed configuration');
          return { ok: false, message: problems.join('; ') };
        }
        return { ok: true };
      }),
    );
    service = await def.start({ runtime: rt, config, logger, clock: systemClock });
    const running = service;

    // Configuration changes arrive as key paths; re-read the whole configuration once they settle.
    let reload: NodeJS.Timeout | undefined;
    subscriptions.push(
      await rt.watchConfiguration(() => {
        clearTimeout(reload);
        reload = setTimeout(() => {
          rt.getConfiguration([])
            .then(async (next) => {
              const verdict = checkConfig(def.schema, withoutAccessControl(next));
              if (!verdict.ok) {
                logger.error({ problems: verdict.problems }, 'ignoring an invalid configuration change');
                return;
              }
              const problems = def.check?.(verdict.value, rt.thingName) ?? [];
              if (problems.length > 0) {
                logger.error({ problems }, 'ignoring an invalid configuration change');
                return;
              }
              await running.applyConfig(verdict.value);
              logger.info('configuration applied');
            })
            .catch((err: unknown) =>
              logger.error({ err: toDrError(err) }, 'could not apply a configuration change'),
            );
        }, 100);
      }),
    );
    await rt.reportState('RUNNING');
    logger.info('running');
  } catch (err) {
    if (!stopping) {
      stopping = true;
      const fatal = err instanceof DrError ? err : toDrError(err);
      await shutdown(1, fatal.code, fatal);
    }
  }
  return finished;
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
