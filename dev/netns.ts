import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/**
 * A network namespace joined to this one by a veth pair, with nftables rules inside it: the local
 * stand-in for the network between a gateway and an AWS region, where faults happen at the packet level
 * (a silent drop, random loss, a rate limit like a cellular uplink) rather than to the broker process.
 * This kernel has no `netem`, so latency comes from a delaying proxy (delay-proxy.ts). Needs root,
 * iproute2 and nftables; `namespacesUnavailable()` says why not.
 */
export interface NetworkLink {
  readonly namespace: string;
  /** This side's address on the link, and the namespace's. */
  readonly hostAddress: string;
  readonly address: string;
  /** The command prefix that runs a program inside the namespace. */
  readonly exec: readonly string[];
  /** Faults on TCP traffic to and from `port` inside the namespace; `clear` removes them. */
  dropAll(port: number): void;
  loss(port: number, percent: number): void;
  rateLimit(port: number, bytesPerSecond: number): void;
  clear(): void;
  close(): void;
}

function run(args: readonly string[]): void {
  execFileSync(args[0] as string, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces with nftables cannot be made here, or undefined when they can. */
export function namespacesUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces and nftables need root';
  for (const tool of ['ip', 'nft'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0)
      return `${tool} is not installed (apt-get install -y ${tool === 'ip' ? 'iproute2' : 'nftables'})`;
  const probe = `edgedr-probe-${randomBytes(3).toString('hex')}`;
  const made = spawnSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
  if (made.status !== 0) return 'ip netns add is not permitted here';
  spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  return undefined;
}

let subnet = randomBytes(1)[0] ?? 0;

/** A namespace with a /30 link to this one; every program in it reaches only this side. */
export function createNetworkLink(): NetworkLink {
  const id = randomBytes(3).toString('hex');
  const namespace = `edgedr-${id}`;
  subnet = (subnet + 1) % 250;
  const [a, b] = [randomBytes(1)[0] ?? 0, subnet];
  const hostAddress = `10.${200 + (a % 50)}.${b}.1`;
  const address = `10.${200 + (a % 50)}.${b}.2`;
  const hostIf = `veh${id}`;
  const nsIf = `ven${id}`;
  const inNs = ['ip', 'netns', 'exec', namespace];
  const nft = (...args: string[]): void => run([...inNs, 'nft', ...args]);
  run(['ip', 'netns', 'add', namespace]);
  try {
    run([...inNs, 'ip', 'link', 'set', 'lo', 'up']);
    run(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    run(['ip', 'link', 'set', nsIf, 'netns', namespace]);
    run(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    run(['ip', 'link', 'set', hostIf, 'up']);
    run([...inNs, 'ip', 'addr', 'add', `${address}/30`, 'dev', nsIf]);
    run([...inNs, 'ip', 'link', 'set', nsIf, 'up']);
    nft('add', 'table', 'inet', 'edgedr');
    nft('add', 'chain', 'inet', 'edgedr', 'input', '{ type filter hook input priority 0; }');
    nft('add', 'chain', 'inet', 'edgedr', 'output', '{ type filter hook output priority 0; }');
  } catch (err) {
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
    throw err;
  }
  // One rule each way: packets to the port coming in, and from it going out.
  const both = (port: number, action: string[]): void => {
    nft('add', 'rule', 'inet', 'edgedr', 'input', 'tcp', 'dport', String(port), ...action);
    nft('add', 'rule', 'inet', 'edgedr', 'output', 'tcp', 'sport', String(port), ...action);
  };
  let closed = false;
  return {
    namespace,
    hostAddress,
    address,
    exec: inNs,
    dropAll: (port) => both(port, ['drop']),
    // numgen: a random number per packet; `percent` of them are dropped.
    loss: (port, percent) =>
      both(port, ['numgen', 'random', 'mod', '100', '<', String(Math.round(percent)), 'drop']),
    // Policing: what exceeds the rate is dropped, as a congested uplink does.
    rateLimit: (port, bytesPerSecond) =>
      both(port, [
        'limit',
        'rate',
        'over',
        `${Math.max(1, Math.round(bytesPerSecond / 1024))}`,
        'kbytes/second',
        'drop',
      ]),
    clear: () => {
      nft('flush', 'chain', 'inet', 'edgedr', 'input');
      nft('flush', 'chain', 'inet', 'edgedr', 'output');
    },
    close: () => {
      if (closed) return;
      closed = true;
      // Deleting the namespace removes its end of the veth pair, and with it this end.
      spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
    },
  };
}
