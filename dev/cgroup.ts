import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A CPU and memory budget for a process tree, as a cgroup this process makes (root only): cgroup v2 when a
 * v2 hierarchy has the cpu and memory controllers (`/sys/fs/cgroup/unified` on hybrid systems, or
 * `/sys/fs/cgroup` on unified ones), otherwise the v1 cpu and memory hierarchies. The group is made under
 * this process's own group, so whatever limits already hold for it still hold.
 */
export interface Budget {
  readonly cpus: number;
  readonly memoryBytes: number;
}

export interface BudgetGroup {
  readonly kind: 'v2' | 'v1';
  readonly paths: readonly string[];
  /** Moves a process (and, from then on, its children) into the group. */
  add(pid: number): void;
  /** The most memory the group used, in bytes, when the kernel says. */
  peakMemoryBytes(): number | null;
  /** Time the group was throttled for its CPU budget, in ms, when the kernel says. */
  throttledMs(): number | null;
  remove(): void;
}

const CPU_PERIOD_US = 100_000;

function ownPath(controller: string | null): string | null {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (controller === null ? controllers === '' : controllers!.split(',').includes(controller)) return path;
  }
  return null;
}

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
};

function v2Root(): string | null {
  for (const root of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    const controllers = read(join(root, 'cgroup.controllers'))?.split(/\s+/) ?? [];
    if (controllers.includes('cpu') && controllers.includes('memory')) return root;
  }
  return null;
}

/** Why no budget group can be made here, or null when one can. */
export function budgetUnavailable(): string | null {
  if (process.getuid?.() !== 0) return `making a cgroup needs root (running as uid ${process.getuid?.()})`;
  if (v2Root() !== null) return null;
  if (
    existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') &&
    existsSync('/sys/fs/cgroup/memory/memory.limit_in_bytes')
  )
    return null;
  const unified = read('/sys/fs/cgroup/unified/cgroup.controllers');
  return `no cgroup hierarchy with cpu and memory controllers (v2 ${unified === null ? 'absent' : `controllers: ${unified || 'none'}`}, no v1 cpu and memory)`;
}

export function makeBudgetGroup(name: string, budget: Budget): BudgetGroup {
  const why = budgetUnavailable();
  if (why !== null) throw new Error(why);
  const quota = String(Math.round(budget.cpus * CPU_PERIOD_US));
  const root = v2Root();
  if (root !== null) {
    const parent = join(root, ownPath(null) ?? '/');
    const dir = join(parent, name);
    // A v2 group gets controllers only when its parent passes them down.
    writeFileSync(join(parent, 'cgroup.subtree_control'), '+cpu +memory');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    writeFileSync(join(dir, 'memory.max'), String(budget.memoryBytes));
    if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
    return {
      kind: 'v2',
      paths: [dir],
      add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
      peakMemoryBytes: () => {
        const peak = read(join(dir, 'memory.peak'));
        return peak === null ? null : Number(peak);
      },
      throttledMs: () => {
        const usec = /throttled_usec (\d+)/.exec(read(join(dir, 'cpu.stat')) ?? '')?.[1];
        return usec === undefined ? null : Number(usec) / 1_000;
      },
      remove: () => rmdirSync(dir),
    };
  }
  const cpu = join('/sys/fs/cgroup/cpu', ownPath('cpu') ?? '/', name);
  const memory = join('/sys/fs/cgroup/memory', ownPath('memory') ?? '/', name);
  mkdirSync(cpu);
  mkdirSync(memory);
  writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  writeFileSync(join(cpu, 'cpu.cfs_quota_us'), quota);
  writeFileSync(join(memory, 'memory.limit_in_bytes'), String(budget.memoryBytes));
  // With swap accounting, the budget covers memory and swap together.
  if (existsSync(join(memory, 'memory.memsw.limit_in_bytes')))
    writeFileSync(join(memory, 'memory.memsw.limit_in_bytes'), String(budget.memoryBytes));
  return {
    kind: 'v1',
    paths: [cpu, memory],
    add: (pid) => {
      writeFileSync(join(cpu, 'cgroup.procs'), String(pid));
      writeFileSync(join(memory, 'cgroup.procs'), String(pid));
    },
    peakMemoryBytes: () => {
      const peak = read(join(memory, 'memory.max_usage_in_bytes'));
      return peak === null ? null : Number(peak);
    },
    throttledMs: () => {
      const ns = /throttled_time (\d+)/.exec(read(join(cpu, 'cpu.stat')) ?? '')?.[1];
      return ns === undefined ? null : Number(ns) / 1e6;
    },
    remove: () => {
      rmdirSync(cpu);
      rmdirSync(memory);
    },
  };
}
