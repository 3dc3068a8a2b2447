import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { NetworkLink } from './netns';

export function mosquittoBinary(): string {
  const candidates = [
    process.env['MOSQUITTO_BIN'],
    '/usr/sbin/mosquitto',
    '/usr/bin/mosquitto',
    '/usr/local/sbin/mosquitto',
  ];
  const found = candidates.find((c): c is string => c !== undefined && existsSync(c));
  if (found === undefined) throw new Error('Mosquitto 2 is needed: sudo apt-get install -y mosquitto');
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Broker {
  /** Where the broker listens: loopback, or its network namespace's address. */
  readonly host: string;
  readonly port: number;
  /** A second listener with the same settings (the cloud side's, in a namespace), or the same port. */
  readonly cloudPort: number;
  readonly process: () => ChildProcess | undefined;
  /** Starts (again) on the same port. */
  start(): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface BrokerOptions {
  /** Settings each listener needs (TLS), repeated after every `listener` line as Mosquitto wants. */
  readonly listenerConfig?: readonly string[];
  /** Run inside this network namespace, with a second listener for the cloud side. */
  readonly network?: NetworkLink;
}

/** A real Mosquitto on a free loopback port (or in a namespace), with a config of its own in `dir`. */
export async function mosquitto(
  dir: string,
  extraConfig: readonly string[] = [],
  options: BrokerOptions = {},
): Promise<Broker> {
  const port = await freePort();
  const cloudPort = options.network === undefined ? port : await freePort();
  const host = options.network?.address ?? '127.0.0.1';
  const conf = join(dir, `mosquitto-${port}.conf`);
  const listeners = [...new Set([port, cloudPort])].flatMap((p) => [
    `listener ${p} ${host}`,
    ...(options.listenerConfig ?? []),
  ]);
  writeFileSync(
    conf,
    [
      // Started as root, Mosquitto drops to its own user, which cannot read the test's private directory.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      ...listeners,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      ...extraConfig,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const [command, ...prefix] = [...(options.network?.exec ?? []), mosquittoBinary()];
  const broker: Broker = {
    host,
    port,
    cloudPort,
    process: () => child,
    start: async () => {
      // The broker's own log goes to a file beside its config (aborted TLS handshakes are expected noise).
      const log = openSync(join(dir, `mosquitto-${port}.log`), 'a');
      child = spawn(command, [...prefix, '-c', conf], { stdio: ['ignore', log, log] });
      closeSync(log);
      await waitForPort(host, port, 10_000);
    },
    stop: async (signal = 'SIGTERM') => {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill(signal);
      await exited;
    },
  };
  await broker.start();
  return broker;
}
