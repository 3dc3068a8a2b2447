import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../logger';
import { deepMerge, type JsonTree } from './config-tree';
import type { ComponentState, LocalIpcHost } from './ipc-host';
import { buildLocalArtifacts, unpackArtifacts } from './local-artifacts';
import {
  defaultConfiguration,
  interpolate,
  loadRecipe,
  selectManifest,
  stepScript,
  type Manifest,
  type Recipe,
} from './recipe';

export interface LauncherOptions {
  readonly host: LocalIpcHost;
  readonly projectRoot: string;
  /** Plays the part of the Greengrass root (`{kernel:rootPath}`): work/, logs/, packages/ below it. */
  readonly rootDir: string;
  readonly recipesDir: string;
  readonly thingName: string;
  readonly region: string;
  readonly logger: Logger;
  /** Merged over each component's DefaultConfiguration, by component name. */
  readonly overrides?: Readonly<Record<string, JsonTree>>;
  /** Greengrass: SIGTERM, then SIGKILL about 5 s later. */
  readonly stopTimeoutMs?: number;
  readonly restartDelayMs?: number;
  /** Greengrass: three errors make a component BROKEN (within an hour). */
  readonly maxErrors?: number;
  readonly errorWindowMs?: number;
  readonly installTimeoutMs?: number;
  /**
   * Built artifact zips (`<name>.zip`, as `npm run build:components` writes them for this platform): they
   * are unpacked as the nucleus does, and components run from them with nothing of the project around
   * them. Absent: artifacts are bundled from the sources, with the project's node_modules on NODE_PATH.
   */
  readonly prebuiltArtifactsDir?: string;
  /** The architecture the nucleus would report (default: this machine's), e.g. `aarch64` under qemu. */
  readonly architecture?: string;
  /** Directories put before PATH for the components (e.g. one whose `node` runs another platform's). */
  readonly pathPrefix?: readonly string[];
}

interface Supervised {
  readonly name: string;
  readonly recipe: Recipe;
  readonly manifest: Manifest;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  stopping: boolean;
  errorTimes: number[];
  restartTimer: NodeJS.Timeout | undefined;
  /** The component itself reported ERRORED: its exit is part of that one error. */
  reportedError: boolean;
  /** Set when a stop had to end in SIGKILL. */
  killedAfterTimeout: boolean;
  /** Three errors: no more restarts until it is launched again. */
  broken: boolean;
}

const GGC_VERSION = '2.13.0';

/**
 * Starts components from their recipes the way the nucleus does: per-component work directory as cwd,
 * the nucleus's environment variables, configuration = DefaultConfiguration merged with local overrides,
 * Install then Run, restart on failure until three errors make it BROKEN, logs per component.
 */
export class ComponentLauncher {
  private readonly recipes = new Map<string, Recipe>();
  private readonly running = new Map<string, Supervised>();
  private readonly log: Logger;

  constructor(private readonly options: LauncherOptions) {
    this.log = options.logger;
    for (const file of readdirSync(options.recipesDir)) {
      if (!/\.(ya?ml|json)$/.test(file)) continue;
      const recipe = loadRecipe(join(options.recipesDir, file));
      this.recipes.set(recipe.ComponentName, recipe);
    }
    // React after the event has reached every listener, so observers see states in the order they happen.
    options.host.on('state', (name: string, state: ComponentState) =>
      setImmediate(() => this.onReportedState(name, state)),
    );
  }

  recipeNames(): string[] {
    return [...this.recipes.keys()];
  }

  workPath(name: string): string {
    return join(this.options.rootDir, 'work', name);
  }

  logPath(name: string): string {
    return join(this.options.rootDir, 'logs', `${name}.log`);
  }

  private decompressedPath(recipe: Recipe): string {
    return join(
      this.options.rootDir,
      'packages',
      'artifacts-unarchived',
      recipe.ComponentName,
      recipe.ComponentVersion,
    );
  }

  private artifactsPath(recipe: Recipe): string {
    return join(this.options.rootDir, 'packages', 'artifacts', recipe.ComponentName, recipe.ComponentVersion);
  }

  /** Components in start order: hard dependencies first. */
  private ordered(names: readonly string[]): string[] {
    const out: string[] = [];
    const visit = (name: string, path: string[]): void => {
      if (out.includes(name)) return;
      if (path.includes(name)) throw new Error(`dependency cycle: ${[...path, name].join(' -> ')}`);
      const recipe = this.recipes.get(name);
      if (recipe === undefined) throw new Error(`no recipe for ${name} in ${this.options.recipesDir}`);
      for (const [dep, d] of Object.entries(recipe.ComponentDependencies ?? {})) {
        if (d.DependencyType !== 'SOFT' && names.includes(dep)) visit(dep, [...path, name]);
      }
      out.push(name);
    };
    for (const n of names) visit(n, []);
    return out;
  }

  /** Registers, builds and starts the named components (dependencies first). */
  async launch(names: readonly string[]): Promise<void> {
    for (const name of this.ordered(names)) {
      const recipe = this.recipes.get(name) as Recipe;
      const manifest =
        this.options.architecture === undefined
          ? selectManifest(recipe)
          : selectManifest(recipe, 'linux', this.options.architecture);
      if (manifest === undefined) throw new Error(`${name}: no manifest matches this platform`);
      const configuration = deepMerge(
        defaultConfiguration(recipe),
        this.options.overrides?.[name] ?? {},
      ) as JsonTree;
      if (this.options.host.component(name) === undefined)
        this.options.host.addComponent(name, configuration);
      mkdirSync(this.workPath(name), { recursive: true, mode: 0o700 });
      mkdirSync(join(this.options.rootDir, 'logs'), { recursive: true, mode: 0o700 });
      if (this.options.prebuiltArtifactsDir === undefined)
        await buildLocalArtifacts(this.options.projectRoot, manifest, this.decompressedPath(recipe));
      else unpackArtifacts(this.options.prebuiltArtifactsDir, manifest, this.decompressedPath(recipe));
      const supervised: Supervised = {
        name,
        recipe,
        manifest,
        child: undefined,
        exited: Promise.resolve(),
        stopping: false,
        errorTimes: [],
        restartTimer: undefined,
        reportedError: false,
        killedAfterTimeout: false,
        broken: false,
      };
      this.running.set(name, supervised);
      await this.startProcess(supervised);
    }
  }

  private environment(s: Supervised, stepEnv: Record<string, string>): NodeJS.ProcessEnv {
    const component = this.options.host.component(s.name);
    const env: NodeJS.ProcessEnv = {
      PATH: [...(this.options.pathPrefix ?? []), process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin'].join(
        ':',
      ),
      HOME: process.env['HOME'] ?? '/root',
      LANG: process.env['LANG'] ?? 'C.UTF-8',
      // Bundles built from the sources find the project's native modules; built artifacts carry their own.
      ...(this.options.prebuiltArtifactsDir === undefined
        ? { NODE_PATH: join(this.options.projectRoot, 'node_modules') }
        : {}),
      SVCUID: component?.token ?? '',
      AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: this.options.host.socketPath,
      AWS_IOT_THING_NAME: this.options.thingName,
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      GGC_VERSION,
      GG_ROOT_CA_PATH: join(this.options.rootDir, 'rootCA.pem'),
    };
    for (const [k, v] of Object.entries({ ...(s.manifest.Lifecycle?.Setenv ?? {}), ...stepEnv }))
      env[k] = this.interpolate(s, v);
    return env;
  }

  /** Throws RecipeStepError, as nucleus lite fails the step, when a variable cannot be replaced. */
  private interpolate(s: Supervised, text: string): string {
    const { text: out, errors } = interpolate(text, {
      componentName: s.name,
      thingName: this.options.thingName,
      rootPath: this.options.rootDir,
      artifactsPath: (c) => this.artifactsPath(this.recipes.get(c) ?? s.recipe),
      decompressedPath: (c) => this.decompressedPath(this.recipes.get(c) ?? s.recipe),
      workPath: (c) => this.workPath(c),
      configuration: (c) => this.options.host.component(c)?.configuration,
    });
    if (errors.length > 0) throw new RecipeStepError(errors.join('; '));
    return out;
  }

  private spawnStep(s: Supervised, script: string, env: NodeJS.ProcessEnv): ChildProcess {
    const command = this.interpolate(s, script);
    const logFd = openSync(this.logPath(s.name), 'a', 0o600);
    try {
      // A process group of its own, so signals reach the whole tree, not just the shell.
      return spawn('/bin/sh', ['-c', command], {
        cwd: this.workPath(s.name),
        env,
        detached: true,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
  }

  /** The host's own lines in a component's log; a failure to write them must not disturb supervision. */
  private note(s: Supervised, line: string): void {
    try {
      const fd = openSync(this.logPath(s.name), 'a', 0o600);
      try {
        writeSync(
          fd,
          `${JSON.stringify({ level: 'info', time: new Date().toISOString(), source: 'local-host', msg: line })}\n`,
        );
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      this.log.warn({ err, client: s.name }, 'could not write to the component log');
    }
  }

  private async runInstall(s: Supervised): Promise<boolean> {
    const step = stepScript(s.manifest.Lifecycle?.install);
    if (step === undefined) return true;
    let child: ChildProcess;
    try {
      child = this.spawnStep(s, step.script, this.environment(s, step.setenv));
    } catch (err) {
      if (!(err instanceof RecipeStepError)) throw err;
      this.note(s, `install step not run: ${err.message}`);
      return false;
    }
    const timeoutMs = step.timeoutMs ?? this.options.installTimeoutMs ?? 120_000;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }

  private async startProcess(s: Supervised): Promise<void> {
    const host = this.options.host;
    host.setState(s.name, 'STARTING');
    s.reportedError = false;
    if (!(await this.runInstall(s))) {
      this.note(s, 'Install step failed');
      this.recordError(s, 'install failed');
      return;
    }
    const step = stepScript(s.manifest.Lifecycle?.run);
    if (step === undefined) {
      host.setState(s.name, 'FINISHED');
      return;
    }
    let child: ChildProcess;
    try {
      child = this.spawnStep(s, step.script, this.environment(s, step.setenv));
    } catch (err) {
      if (!(err instanceof RecipeStepError)) throw err;
      this.note(s, `run step not run: ${err.message}`);
      this.recordError(s, `run step not run: ${err.message}`);
      return;
    }
    s.child = child;
    this.note(s, `Run started (pid ${String(child.pid)})`);
    const pgid = child.pid;
    s.exited = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        this.afterExit(s, pgid, code, signal)
          .catch((err: unknown) =>
            this.log.error({ err, client: s.name }, 'fault while handling a component exit'),
          )
          .finally(resolve);
      });
    });
  }

  /** The shell is gone; wait for the rest of its process group (the component itself) before judging. */
  private async afterExit(
    s: Supervised,
    pgid: number | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): Promise<void> {
    const host = this.options.host;
    if (pgid !== undefined) {
      const deadline = Date.now() + (this.options.stopTimeoutMs ?? 5_000);
      while (groupAlive(pgid)) {
        if (Date.now() >= deadline) {
          this.note(s, 'still running after the stop timeout: SIGKILL');
          s.killedAfterTimeout = true;
          killGroup(pgid, 'SIGKILL');
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    s.child = undefined;
    this.note(s, `Run exited (code ${String(code)}, signal ${String(signal)})`);
    if (s.broken) host.setState(s.name, 'BROKEN');
    else if (s.stopping || code === 0) host.setState(s.name, 'FINISHED');
    else if (s.reportedError) this.scheduleRestart(s);
    else this.recordError(s, `exited with ${signal ?? `code ${String(code)}`}`);
  }

  /** Counts one error in the window; true when that makes the component BROKEN (three within an hour). */
  private countError(s: Supervised): boolean {
    const now = Date.now();
    const window = this.options.errorWindowMs ?? 3_600_000;
    s.errorTimes = [...s.errorTimes.filter((t) => now - t < window), now];
    s.broken = s.errorTimes.length >= (this.options.maxErrors ?? 3);
    return s.broken;
  }

  private recordError(s: Supervised, reason: string): void {
    if (this.countError(s)) {
      this.options.host.setState(s.name, 'BROKEN');
      this.log.error({ client: s.name, reason, errors: s.errorTimes.length }, 'component is BROKEN');
      return;
    }
    this.options.host.setState(s.name, 'ERRORED');
    this.log.warn({ client: s.name, reason, errors: s.errorTimes.length }, 'component errored: restarting');
    this.scheduleRestart(s);
  }

  private scheduleRestart(s: Supervised): void {
    if (s.stopping) return;
    s.restartTimer = setTimeout(() => {
      s.restartTimer = undefined;
      if (!s.stopping) void this.startProcess(s);
    }, this.options.restartDelayMs ?? 1_000);
  }

  /** A component that reports ERRORED over IPC is restarted, which counts as one error. */
  private onReportedState(name: string, state: ComponentState): void {
    const s = this.running.get(name);
    if (s === undefined || state !== 'ERRORED' || s.child === undefined || s.reportedError) return;
    s.reportedError = true;
    if (this.countError(s)) {
      s.stopping = true;
      this.options.host.setState(name, 'BROKEN');
    }
    signalGroup(s.child, 'SIGTERM');
  }

  pid(name: string): number | undefined {
    return this.running.get(name)?.child?.pid;
  }

  /** Sends a signal to a component's process group (tests and chaos runs). */
  signal(name: string, signal: NodeJS.Signals): void {
    const child = this.running.get(name)?.child;
    if (child !== undefined) signalGroup(child, signal);
  }

  /**
   * SIGTERM, then SIGKILL after the stop timeout. Resolves with whether the component stopped by itself.
   */
  async stop(name: string): Promise<{ readonly stoppedCleanly: boolean }> {
    const s = this.running.get(name);
    if (s === undefined) return { stoppedCleanly: true };
    s.stopping = true;
    clearTimeout(s.restartTimer);
    const child = s.child;
    if (child !== undefined) {
      this.options.host.setState(name, 'STOPPING');
      signalGroup(child, 'SIGTERM');
      await s.exited;
    }
    this.running.delete(name);
    return { stoppedCleanly: !s.killedAfterTimeout };
  }

  async stopAll(): Promise<void> {
    // Reverse start order: dependents stop before what they depend on.
    for (const name of [...this.running.keys()].reverse()) await this.stop(name);
  }

  waitForState(name: string, state: ComponentState, timeoutMs: number): Promise<void> {
    const host = this.options.host;
    if (host.component(name)?.state === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (n: string, st: ComponentState): void => {
        if (n === name && st === state) {
          clearTimeout(timer);
          host.off('state', onState);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        host.off('state', onState);
        reject(
          new Error(
            `${name} did not reach ${state} within ${timeoutMs} ms (state ${host.component(name)?.state ?? 'unknown'})`,
          ),
        );
      }, timeoutMs);
      host.on('state', onState);
    });
  }
}

/** A recipe step that cannot be run (a variable neither nucleus would replace). */
class RecipeStepError extends Error {}

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // no such process group: already gone
  }
}

/**
 * Whether any live (non-zombie) process remains in the group. Orphans are reaped by PID 1, which in
 * containers and sandboxes may be slow or never: a zombie must not count as a running component.
 */
function groupAlive(pgid: number): boolean {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return killGroup(pgid, 0);
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid !== undefined) killGroup(child.pid, signal);
}
