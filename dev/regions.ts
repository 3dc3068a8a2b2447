import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { DelayProxy } from './delay-proxy';
import { mosquitto, type Broker } from './mosquitto';
import { createNetworkLink, type NetworkLink } from './netns';
import { makePki, tlsListenerConfig, type ClientSpec, type Pki } from './pki';

/**
 * A local stand-in for an AWS IoT Core region: a real Mosquitto 2 broker (MQTT 5) on loopback with TLS,
 * its own CA, required client certificates (the certificate's CN is the identity) and an ACL per
 * identity. Outages are real signals to the broker process: SIGSTOP is a black hole (TCP stays up,
 * nothing answers), SIGKILL a crash, and `start()` brings it back on the same port.
 */
export interface LocalRegion {
  readonly name: string;
  /** Where a gateway connects (through the link's proxy when the region has a network of its own). */
  readonly endpoint: { readonly host: string; readonly port: number };
  /** Where the cloud side connects: never through the gateway's faulty link. */
  readonly cloudEndpoint: { readonly host: string; readonly port: number };
  /** Packet-level faults on the gateway's link, when the region runs in a namespace of its own. */
  readonly network: RegionNetwork | undefined;
  readonly pki: Pki;
  readonly broker: Broker;
  /** Certificate, key and CA paths for a client identity of this region. */
  files(client: string): { certificatePath: string; privateKeyPath: string; caPath: string };
  pause(): void;
  resume(): void;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The link between the gateway and a region that lives in a network namespace of its own: nftables
 * rules on the gateway's listener inside the namespace, and a loopback proxy in front of it for latency.
 */
export interface RegionNetwork {
  /** Every packet dropped, both ways: a black hole at the packet level. */
  drop(): void;
  /** This share of packets dropped at random, both ways. */
  loss(percent: number): void;
  /** Traffic over this rate dropped, both ways (1 Mbit/s: 125,000 bytes/s). */
  rateLimit(bytesPerSecond: number): void;
  /** Added to every chunk, both ways. */
  latency(ms: number): void;
  /** Back to a clean link. */
  clear(): void;
}

export interface RegionOptions {
  /** Client identities (certificate CNs); give `days: -1` for an expired certificate. */
  readonly clients: readonly ClientSpec[];
  /** Topics each identity may use (`readwrite`); identities not listed may use nothing. */
  readonly acl: Readonly<Record<string, readonly string[]>>;
  /** Run the broker in a network namespace of its own (root, iproute2 and nftables; see netns.ts). */
  readonly ownNetwork?: boolean;
  /** Log every connection and disconnection with its client id (in the broker's log file). */
  readonly logConnections?: boolean;
}

/** The topics the suite's Replay client needs for `thing`, as a least-privilege IoT policy would grant. */
export function replayTopics(thing: string): string[] {
  return [`edgedr/${thing}/#`, `$aws/things/${thing}/shadow/#`];
}

/** Every topic, for a cloud-side consumer in tests and demos. */
export const CONSUMER_TOPICS = ['#', '$aws/#'];

export async function startRegion(dir: string, name: string, options: RegionOptions): Promise<LocalRegion> {
  const link: NetworkLink | undefined = options.ownNetwork === true ? createNetworkLink() : undefined;
  try {
    return await regionOn(dir, name, options, link);
  } catch (err) {
    link?.close();
    throw err;
  }
}

async function regionOn(
  dir: string,
  name: string,
  options: RegionOptions,
  link: NetworkLink | undefined,
): Promise<LocalRegion> {
  const pki = makePki(dir, name, options.clients, link === undefined ? [] : [link.address]);
  const aclPath = join(dir, `${name}-acl`);
  writeFileSync(
    aclPath,
    Object.entries(options.acl)
      .map(([user, topics]) => [`user ${user}`, ...topics.map((t) => `topic readwrite ${t}`), ''].join('\n'))
      .join('\n'),
  );
  const broker = await mosquitto(
    dir,
    [
      `acl_file ${aclPath}`,
      ...(options.logConnections === true ? ['log_type notice', 'connection_messages true'] : []),
    ],
    {
      listenerConfig: tlsListenerConfig(pki),
      ...(link === undefined ? {} : { network: link }),
    },
  );
  const signal = (sig: NodeJS.Signals): void => {
    broker.process()?.kill(sig);
  };
  const proxy = link === undefined ? undefined : await DelayProxy.start(broker.host, broker.port);
  const network: RegionNetwork | undefined =
    link === undefined || proxy === undefined
      ? undefined
      : {
          drop: () => link.dropAll(broker.port),
          loss: (percent) => link.loss(broker.port, percent),
          rateLimit: (bytesPerSecond) => link.rateLimit(broker.port, bytesPerSecond),
          latency: (ms) => {
            proxy.delayMs = ms;
          },
          clear: () => {
            link.clear();
            proxy.delayMs = 0;
          },
        };
  return {
    name,
    endpoint:
      proxy === undefined
        ? { host: broker.host, port: broker.port }
        : { host: '127.0.0.1', port: proxy.port },
    cloudEndpoint: { host: broker.host, port: broker.cloudPort },
    network,
    pki,
    broker,
    files: (client) => {
      const c = pki.clients[client];
      if (c === undefined) throw new Error(`region ${name} has no client ${client}`);
      return { certificatePath: c.cert, privateKeyPath: c.key, caPath: pki.caCert };
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill: async () => {
      broker.process()?.kill('SIGCONT');
      await broker.stop('SIGKILL');
    },
    start: () => broker.start(),
    stop: async () => {
      broker.process()?.kill('SIGCONT');
      await broker.stop();
      await proxy?.close();
      link?.close();
    },
  };
}

/** A region entry of Replay's configuration for a local region, with the `replay` identity's files. */
export function replayRegionEntry(
  region: LocalRegion,
  thing: string,
  priority: number,
  extra: JsonTree = {},
): JsonTree {
  return {
    name: region.name,
    endpoint: region.endpoint.host,
    port: region.endpoint.port,
    ...region.files('replay'),
    priority,
    clientId: `${thing}-replay-${region.name}`,
    ...extra,
  };
}
