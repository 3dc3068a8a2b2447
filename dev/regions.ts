import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonTree } from '../shared/src/runtime/host/config-tree';
import { mosquitto, type Broker } from './mosquitto';
import { makePki, tlsListenerConfig, type ClientSpec, type Pki } from './pki';

/**
 * A local stand-in for an AWS IoT Core region: a real Mosquitto 2 broker (MQTT 5) on loopback with TLS,
 * its own CA, required client certificates (the certificate's CN is the identity) and an ACL per
 * identity. Outages are real signals to the broker process: SIGSTOP is a black hole (TCP stays up,
 * nothing answers), SIGKILL a crash, and `start()` brings it back on the same port.
 */
export interface LocalRegion {
  readonly name: string;
  readonly port: number;
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

export interface RegionOptions {
  /** Client identities (certificate CNs); give `days: -1` for an expired certificate. */
  readonly clients: readonly ClientSpec[];
  /** Topics each identity may use (`readwrite`); identities not listed may use nothing. */
  readonly acl: Readonly<Record<string, readonly string[]>>;
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
  const pki = makePki(dir, name, options.clients);
  const aclPath = join(dir, `${name}-acl`);
  writeFileSync(
    aclPath,
    Object.entries(options.acl)
      .map(([user, topics]) => [`user ${user}`, ...topics.map((t) => `topic readwrite ${t}`), ''].join('\n'))
      .join('\n'),
  );
  const broker = await mosquitto(dir, [
    ...tlsListenerConfig(pki),
    `acl_file ${aclPath}`,
    ...(options.logConnections === true ? ['log_type notice', 'connection_messages true'] : []),
  ]);
  const signal = (sig: NodeJS.Signals): void => {
    broker.process()?.kill(sig);
  };
  return {
    name,
    port: broker.port,
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
    endpoint: '127.0.0.1',
    port: region.port,
    ...region.files('replay'),
    priority,
    clientId: `${thing}-replay-${region.name}`,
    ...extra,
  };
}
