import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { JsonTree } from '../../shared/src/runtime/host/config-tree';
import { loadRecipe, selectManifest } from '../../shared/src/runtime/host/recipe';
import { REPO_ROOT } from './child';

/**
 * AWS IoT Greengrass nucleus lite's own daemons (ggconfigd, ggpubsubd, gghealthd, ggipcd) and its
 * recipe-runner, run the way its systemd units would on a gateway, so the suite's recipes and built
 * zips can be tried against a real nucleus in the tests.
 *
 * Where nucleus lite comes from, first match:
 * - `EDGEDR_GGLITE_KIT` or `../shared/gglite` beside the project: its pinned sources and offline build
 *   script (with two helpers: a typed-JSON configuration loader, and a stand-in for the systemd D-Bus
 *   calls gghealthd makes on machines without systemd);
 * - otherwise the upstream repository at the pinned release, when the network reaches GitHub (then
 *   without the helpers: configuration comes through nucleus lite's YAML reader and gghealthd is not
 *   run);
 * - otherwise nothing, with the reason.
 * Built binaries are cached outside the project (`EDGEDR_GGLITE_BUILD`, default /tmp/gglite).
 */
const UPSTREAM = 'https://github.com/aws-greengrass/aws-greengrass-lite.git';
const UPSTREAM_TAG = 'v2.6.0';
const UPSTREAM_COMMIT_PREFIX = '326e992b';
const DAEMONS = ['ggconfigd', 'ggpubsubd', 'gghealthd', 'ggipcd', 'recipe-runner'];
/** nucleus lite keeps its core-bus sockets here, fixed in its source: one nucleus per machine. */
const CORE_BUS_DIR = '/run/greengrass';
const LOCK = '/run/edgedr-nucleus-lite.lock';
const SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface NucleusLiteKit {
  readonly bin: string;
  /** `gg-config-json`: writes typed JSON into ggconfigd, as a cloud deployment's JSON recipe leaves it. */
  readonly configJson: string | undefined;
  /** Answers gghealthd's systemd D-Bus calls; without it gghealthd is not started. */
  readonly systemdStub: string | undefined;
  readonly source: string;
}

export type KitResult = { readonly kit: NucleusLiteKit } | { readonly skipped: string };

function cgroupRoot(): string | undefined {
  for (const dir of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'])
    if (existsSync(join(dir, 'cgroup.procs')) && existsSync(join(dir, 'cgroup.controllers'))) return dir;
  return undefined;
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function complete(bin: string): boolean {
  return DAEMONS.every((d) => existsSync(join(bin, d)));
}

/** Builds (or finds) nucleus lite for this machine, synchronously: the tests decide to run or skip. */
export function nucleusLiteKit(): KitResult {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return {
      skipped: `nucleus lite scenario runs the amd64 zips on Linux x64 (this is ${process.platform} ${process.arch})`,
    };
  if (process.getuid?.() !== 0)
    return { skipped: 'nucleus lite needs root here (its IPC daemon authenticates components by cgroup)' };
  if (cgroupRoot() === undefined) return { skipped: 'no writable cgroup hierarchy under /sys/fs/cgroup' };
  if (!hasCommand('unzip')) return { skipped: 'unzip is not installed' };
  const out = process.env['EDGEDR_GGLITE_BUILD'] ?? '/tmp/gglite';
  const kitDir = process.env['EDGEDR_GGLITE_KIT'] ?? resolve(REPO_ROOT, '..', 'shared', 'gglite');
  const bin = join(out, 'build', 'bin');
  if (existsSync(join(kitDir, 'build.sh'))) {
    // The kit's build skips itself when its sources are unchanged (a stamp in `out`).
    process.stderr.write(`nucleus lite: building from ${kitDir} into ${out} (2-4 minutes the first time)\n`);
    const built = spawnSync('bash', [join(kitDir, 'build.sh'), out], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (built.status !== 0 || !complete(bin))
      return { skipped: `nucleus lite did not build from ${kitDir} (exit ${String(built.status)})` };
    const tool = (name: string): string | undefined =>
      existsSync(join(bin, name)) ? join(bin, name) : undefined;
    return {
      kit: {
        bin,
        configJson: tool('gg-config-json'),
        systemdStub: hasCommand('dbus-daemon') ? tool('systemd1-stub') : undefined,
        source: kitDir,
      },
    };
  }
  return upstreamKit(join(out, 'upstream'));
}

/** nucleus lite from its public repository at the pinned release, when GitHub is reachable. */
function upstreamKit(dir: string): KitResult {
  const bin = join(dir, 'build', 'bin');
  if (!complete(bin)) {
    if (!hasCommand('git') || !hasCommand('cmake'))
      return {
        skipped:
          'nucleus lite is not beside the project (../shared/gglite) and git or cmake is missing to build it',
      };
    const reach = spawnSync('git', ['ls-remote', '--tags', UPSTREAM, UPSTREAM_TAG], {
      timeout: 15_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    if (reach.status !== 0)
      return {
        skipped: `nucleus lite is not beside the project (../shared/gglite) and ${UPSTREAM} is unreachable`,
      };
    rmSync(dir, { recursive: true, force: true });
    const run = (cmd: string, args: string[], cwd?: string): void => {
      execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_200_000 });
    };
    try {
      process.stderr.write(`nucleus lite: building ${UPSTREAM} ${UPSTREAM_TAG} into ${dir}\n`);
      run('git', ['clone', '--quiet', '--depth', '1', '--branch', UPSTREAM_TAG, UPSTREAM, join(dir, 'src')]);
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: join(dir, 'src') })
        .toString()
        .trim();
      if (!head.startsWith(UPSTREAM_COMMIT_PREFIX))
        return {
          skipped: `${UPSTREAM} ${UPSTREAM_TAG} is at ${head}, not the pinned ${UPSTREAM_COMMIT_PREFIX}`,
        };
      run('cmake', [
        '-S',
        join(dir, 'src'),
        '-B',
        join(dir, 'build'),
        '-DCMAKE_BUILD_TYPE=RelWithDebInfo',
        '-DGGL_SYSTEMD_SERVICE_BUILD=OFF',
      ]);
      run('cmake', ['--build', join(dir, 'build'), '-j2', '--target', ...DAEMONS.map((d) => `${d}-bin`)]);
    } catch (err) {
      return {
        skipped: `nucleus lite did not build from ${UPSTREAM}: ${(err as Error).message.split('\n')[0] ?? ''}`,
      };
    }
  }
  return {
    kit: { bin, configJson: undefined, systemdStub: undefined, source: `${UPSTREAM} ${UPSTREAM_TAG}` },
  };
}

export interface NucleusLiteOptions {
  readonly kit: NucleusLiteKit;
  readonly root: string;
  readonly recipesDirs: readonly string[];
  /** Built `<name>-amd64.zip` artifacts, unpacked as ggdeploymentd would. */
  readonly artifactsDir: string;
  /** Each component's configuration (DefaultConfiguration merged with the test's values). */
  readonly configuration: Readonly<Record<string, JsonTree>>;
  /** `json`: typed, as a cloud deployment's JSON recipe leaves it; `yaml`: every scalar as text. */
  readonly typing: 'json' | 'yaml';
  readonly thingName: string;
  readonly awsRegion?: string;
}

export type LiteState = 'installing' | 'running' | 'restarting' | 'broken' | 'finished' | 'stopped';

interface Supervised {
  name: string;
  version: string;
  state: LiteState;
  starts: number;
  child: ChildProcess | undefined;
  stopping: boolean;
  supervisor: Promise<void>;
}

/** nucleus lite's daemons and its recipe-runner over a prepared root (see the module comment). */
export class NucleusLite {
  private readonly daemons: ChildProcess[] = [];
  private readonly components = new Map<string, Supervised>();
  private readonly cgroups: string;
  private readonly versions = new Map<string, string>();

  private constructor(private readonly o: NucleusLiteOptions) {
    this.cgroups = join(cgroupRoot() ?? '/sys/fs/cgroup', 'system.slice');
  }

  static async start(options: NucleusLiteOptions): Promise<NucleusLite> {
    await takeLock();
    const nucleus = new NucleusLite(options);
    try {
      nucleus.prepare();
      await nucleus.startDaemons();
    } catch (err) {
      await nucleus.stop();
      throw err;
    }
    return nucleus;
  }

  get socketPath(): string {
    return join(this.o.root, 'gg-ipc.socket');
  }

  logPath(name: string): string {
    return join(this.o.root, 'logs', `${name}.log`);
  }

  workPath(name: string): string {
    return join(this.o.root, 'work', name);
  }

  state(name: string): LiteState | undefined {
    return this.components.get(name)?.state;
  }

  starts(name: string): number {
    return this.components.get(name)?.starts ?? 0;
  }

  // ---- the root, as ggdeploymentd leaves it -------------------------------------------------------

  private prepare(): void {
    const { root } = this.o;
    for (const d of ['config.d', 'packages/recipes', 'packages/artifacts-unarchived', 'work', 'logs'])
      mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'rootCA.pem'), '');
    writeFileSync(
      join(root, 'config.d', '00-system.yaml'),
      stringify({
        system: {
          rootPath: root,
          thingName: this.o.thingName,
          rootCaPath: join(root, 'rootCA.pem'),
          certificateFilePath: join(root, 'device.pem'),
          privateKeyPath: join(root, 'device.key'),
        },
        services: {
          'aws.greengrass.NucleusLite': {
            componentType: 'NUCLEUS',
            version: '2.6.0',
            configuration: {
              awsRegion: this.o.awsRegion ?? 'us-east-1',
              iotCredEndpoint: 'localhost',
              iotDataEndpoint: 'localhost',
              iotRoleAlias: 'none',
              runWithDefault: { posixUser: 'root:root' },
            },
          },
        },
      }),
    );
    for (const dir of this.o.recipesDirs)
      for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
        const recipe = loadRecipe(join(dir, file));
        const name = recipe.ComponentName;
        if (this.o.configuration[name] === undefined) continue;
        this.versions.set(name, recipe.ComponentVersion);
        // Recipes go in unchanged: nucleus lite must read them as they are.
        copyFileSync(
          join(dir, file),
          join(root, 'packages', 'recipes', `${name}-${recipe.ComponentVersion}.yaml`),
        );
        mkdirSync(this.workPath(name), { recursive: true });
        const manifest = selectManifest(recipe, 'linux', 'amd64');
        for (const a of manifest?.Artifacts ?? []) {
          if (a.Unarchive !== 'ZIP') continue;
          const base = basename(a.URI, '.zip');
          const zip = join(this.o.artifactsDir, `${base}.zip`);
          if (!existsSync(zip)) throw new Error(`nucleus lite: no artifact ${zip}`);
          const outDir = join(root, 'packages', 'artifacts-unarchived', name, recipe.ComponentVersion, base);
          mkdirSync(outDir, { recursive: true });
          execFileSync('unzip', ['-q', '-o', zip, '-d', outDir]);
        }
      }
    if (this.o.typing === 'yaml' || this.o.kit.configJson === undefined)
      for (const [name, configuration] of Object.entries(this.o.configuration))
        writeFileSync(
          join(root, 'config.d', `10-${name}.yaml`),
          stringify({ services: { [name]: { version: this.versionOf(name), configuration } } }),
        );
  }

  private versionOf(name: string): string {
    const v = this.versions.get(name);
    if (v === undefined) throw new Error(`nucleus lite: no recipe for ${name}`);
    return v;
  }

  /** Writes a typed JSON value into ggconfigd under `services/<name>/…` (a deployment's doing). */
  writeConfig(name: string, keyPath: readonly string[], value: unknown): void {
    const tool = this.o.kit.configJson;
    if (tool === undefined) throw new Error('nucleus lite: no configuration loader in this kit');
    execFileSync(tool, ['write', 'services', name, ...keyPath], {
      input: JSON.stringify(value),
      cwd: this.o.root,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }

  // ---- daemons --------------------------------------------------------------------------------------

  private daemon(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
    const fd = openSync(this.logPath(name), 'a');
    try {
      this.daemons.push(
        spawn(command, args, {
          cwd: this.o.root,
          env: { ...process.env, ...env },
          stdio: ['ignore', fd, fd],
        }),
      );
    } finally {
      closeSync(fd);
    }
  }

  private async startDaemons(): Promise<void> {
    const { bin } = this.o.kit;
    mkdirSync(CORE_BUS_DIR, { recursive: true });
    for (const f of readdirSync(CORE_BUS_DIR)) rmSync(join(CORE_BUS_DIR, f), { force: true });
    this.daemon('ggconfigd', join(bin, 'ggconfigd'), ['-C', join(this.o.root, 'config.d')]);
    await waitFor(() => existsSync(join(CORE_BUS_DIR, 'gg_config')), 10_000, 'ggconfigd');
    if (this.o.typing === 'json' && this.o.kit.configJson !== undefined)
      for (const [name, configuration] of Object.entries(this.o.configuration)) {
        this.writeConfig(name, ['version'], this.versionOf(name));
        this.writeConfig(name, ['configuration'], configuration);
      }
    this.daemon('ggpubsubd', join(bin, 'ggpubsubd'), []);
    if (this.o.kit.systemdStub !== undefined) {
      // gghealthd asks systemd for unit states over the system bus: a private bus with a stand-in.
      const bus = `unix:path=${join(this.o.root, 'dbus.sock')}`;
      this.daemon('dbus', 'dbus-daemon', ['--session', '--nofork', `--address=${bus}`]);
      await waitFor(() => existsSync(join(this.o.root, 'dbus.sock')), 10_000, 'dbus-daemon');
      this.daemon('systemd1-stub', this.o.kit.systemdStub, [], { DBUS_SYSTEM_BUS_ADDRESS: bus });
      await new Promise((r) => setTimeout(r, 300));
      this.daemon('gghealthd', join(bin, 'gghealthd'), [], { DBUS_SYSTEM_BUS_ADDRESS: bus });
    }
    this.daemon('ggipcd', join(bin, 'ggipcd'), []);
    await waitFor(() => existsSync(this.socketPath), 10_000, 'ggipcd');
  }

  // ---- components through recipe-runner ------------------------------------------------------------

  /**
   * The install phase, then the run phase with restarts, as nucleus lite's units run them: each phase
   * in a cgroup named like its unit (`ggl.<name>.install.service`, `ggl.<name>.service`), which is how
   * ggipcd knows which component connects; the unit's environment; a failed run restarts after 1 s and
   * three failures make the component broken.
   */
  startComponent(name: string): void {
    const s: Supervised = {
      name,
      version: this.versionOf(name),
      state: 'installing',
      starts: 0,
      child: undefined,
      stopping: false,
      supervisor: Promise.resolve(),
    };
    this.components.set(name, s);
    s.supervisor = this.supervise(s);
  }

  private phase(s: Supervised, unit: string, phase: string): Promise<number> {
    const cg = join(this.cgroups, unit);
    mkdirSync(cg, { recursive: true });
    const fd = openSync(this.logPath(s.name), 'a');
    const path = [dirname(process.execPath), SYSTEMD_PATH].join(':');
    try {
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          'echo $$ > "$1/cgroup.procs" && cd "$2" && exec env -i PATH="$3" HOME=/root LANG=C.UTF-8 ' +
            'AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT="$4" "$5" -n "$6" -v "$7" -p "$8"',
          'sh',
          cg,
          this.workPath(s.name),
          path,
          this.socketPath,
          join(this.o.kit.bin, 'recipe-runner'),
          s.name,
          s.version,
          phase,
        ],
        { stdio: ['ignore', fd, fd] },
      );
      s.child = child;
      return new Promise((resolve) =>
        child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))),
      );
    } finally {
      closeSync(fd);
    }
  }

  private note(s: Supervised, line: string): void {
    writeFileSync(this.logPath(s.name), `=== ${new Date().toISOString()} ${line}\n`, { flag: 'a' });
  }

  private async supervise(s: Supervised): Promise<void> {
    const install = await this.phase(s, `ggl.${s.name}.install.service`, 'install');
    this.note(s, `install exited ${install}`);
    if (s.stopping) return;
    if (install !== 0) {
      s.state = 'broken';
      return;
    }
    let failures = 0;
    while (!s.stopping) {
      s.starts += 1;
      s.state = 'running';
      const code = await this.phase(s, `ggl.${s.name}.service`, 'run');
      this.note(s, `run exited ${code}`);
      if (s.stopping) break;
      if (code === 0) {
        s.state = 'finished';
        return;
      }
      failures += 1;
      if (failures >= 3) {
        s.state = 'broken';
        return;
      }
      s.state = 'restarting';
      await new Promise((r) => setTimeout(r, 1_000));
    }
    s.state = 'stopped';
  }

  /** The processes of a component's run unit (its cgroup), e.g. to signal them. */
  pids(name: string): number[] {
    try {
      return readFileSync(join(this.cgroups, `ggl.${name}.service`, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map(Number);
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    for (const s of this.components.values()) s.stopping = true;
    // Components first (SIGTERM, then SIGKILL after the nucleus's 5 s), then the daemons.
    const units = existsSync(this.cgroups)
      ? readdirSync(this.cgroups)
          .filter((u) => u.startsWith('ggl.'))
          .map((u) => join(this.cgroups, u))
      : [];
    const procs = (unit: string): number[] =>
      readFileSync(join(unit, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map(Number);
    const signal = (sig: NodeJS.Signals): void => {
      for (const unit of units)
        for (const pid of procs(unit))
          try {
            process.kill(pid, sig);
          } catch {
            // already gone
          }
    };
    signal('SIGTERM');
    await waitFor(() => units.every((u) => procs(u).length === 0), 5_000, 'components to stop').catch(() =>
      signal('SIGKILL'),
    );
    await waitFor(() => units.every((u) => procs(u).length === 0), 5_000, 'components to die').catch(
      () => undefined,
    );
    for (const unit of units)
      try {
        rmdirSync(unit);
      } catch {
        // a process still there; the next run's stop tries again
      }
    for (const d of this.daemons.reverse()) d.kill('SIGTERM');
    await Promise.all(
      this.daemons.map((d) =>
        d.exitCode !== null || d.signalCode !== null
          ? Promise.resolve()
          : new Promise((r) => d.once('exit', r)),
      ),
    );
    releaseLock();
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`nucleus lite: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One nucleus per machine (its core-bus sockets are fixed): wait for another run to finish. */
async function takeLock(): Promise<void> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      if (!Number.isInteger(holder) || !alive(holder)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`nucleus lite: ${LOCK} held by pid ${holder}`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function releaseLock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK);
  } catch {
    // not ours, or gone
  }
}
