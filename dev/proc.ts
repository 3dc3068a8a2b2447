import { readdirSync, readFileSync } from 'node:fs';

/** The node process inside a launched component's process group (the group leader is its shell). */
export function nodePidInGroup(pgid: number): number | undefined {
  return pidInGroup(pgid, 'node');
}

/** A process of a group whose command name starts with `comm`. */
export function pidInGroup(pgid: number, comm: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && name.startsWith(comm)) return Number(entry);
    } catch {
      // gone while we looked
    }
  }
  return undefined;
}

/** Resident memory of a process, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}
