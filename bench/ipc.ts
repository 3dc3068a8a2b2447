import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../shared/src/logger';
import { LocalIpcHost } from '../shared/src/runtime/host/ipc-host';
import { option } from './common';
import { fmt, printTable } from './table';

interface ClientResult {
  messages: number;
  received: number;
  bytes: number;
  messagesPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

function client(args: readonly string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'ipc-client.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`benchmark client exited with ${String(code)}`)),
    );
  });
}

/** A subscriber process and a publisher process, each with its own SDK connection, through the host. */
async function round(
  host: LocalIpcHost,
  pub: string,
  sub: string,
  bytes: number,
  count: number,
  window: number,
  publisher: 'publish' | 'publish-raw' = 'publish',
): Promise<ClientResult> {
  let result: ClientResult | undefined;
  let ready: () => void = () => undefined;
  const subscribed = new Promise<void>((r) => (ready = r));
  const subscriber = client(['subscribe', host.socketPath, sub, String(bytes), String(count)], (line) => {
    if (line === 'ready') ready();
    else result = JSON.parse(line) as ClientResult;
  });
  await subscribed;
  await client(
    [publisher, host.socketPath, pub, String(bytes), String(count), String(window)],
    () => undefined,
  );
  await subscriber;
  if (result === undefined) throw new Error('the subscriber reported nothing');
  return result;
}

/** Local pub/sub through the host with the real SDK client: publisher and subscriber are separate processes. */
export async function ipcBenchmark(args: readonly string[]): Promise<Record<string, unknown>> {
  const smallCount = option(args, 'small', 50_000);
  const largeCount = option(args, 'large', 2_000);
  // 16 in flight suits the SDK client best here (more only adds queueing in its native layer).
  const window = option(args, 'window', 16);
  const dir = mkdtempSync(join(tmpdir(), 'ggdr-ipc-bench-'));
  const host = new LocalIpcHost({
    socketPath: join(dir, 'ipc.sock'),
    logger: createLogger({ component: 'bench-host', version: '0', thing: 'bench', level: 'warn' }),
    maxPendingWriteBytes: 256 * 1024 * 1024,
  });
  await host.start();
  try {
    const acl = {
      accessControl: {
        'aws.greengrass.ipc.pubsub': {
          'bench:1': {
            operations: ['aws.greengrass#PublishToTopic', 'aws.greengrass#SubscribeToTopic'],
            resources: ['bench/ipc'],
          },
        },
      },
    };
    const pub = host.addComponent('com.bench.Publisher', acl).token;
    const sub = host.addComponent('com.bench.Subscriber', acl).token;
    await round(host, pub, sub, 200, 2_000, window); // warm-up
    const small = await round(host, pub, sub, 200, smallCount, window);
    const large = await round(host, pub, sub, 64 * 1024, largeCount, Math.min(window, 16));
    const lean = await round(host, pub, sub, 200, smallCount, 256, 'publish-raw');
    const dropped = host.stats().droppedEvents;
    printTable(
      `ipc: local pub/sub through the host, real SDK clients in a publisher and a subscriber process, ${window} publishes in flight`,
      [
        ['200-byte messages', `${fmt(small.messagesPerSec)} messages/s (target >= 10,000)`],
        ['  latency p50 / p99', `${fmt(small.p50Ms, 2)} / ${fmt(small.p99Ms, 2)} ms`],
        ['64 KB messages', `${fmt(large.messagesPerSec)} messages/s`],
        ['  latency p50 / p99', `${fmt(large.p50Ms, 2)} / ${fmt(large.p99Ms, 2)} ms`],
        [
          '200-byte, lean wire publisher',
          `${fmt(lean.messagesPerSec)} messages/s (the host's capacity; SDK subscriber)`,
        ],
        ['  latency p50 / p99', `${fmt(lean.p50Ms, 2)} / ${fmt(lean.p99Ms, 2)} ms`],
        ['events dropped by the host', String(dropped)],
      ],
    );
    const pick = (r: ClientResult): Record<string, number> => ({
      messages: r.messages,
      received: r.received,
      messagesPerSec: Math.round(r.messagesPerSec),
      p50Ms: Number(r.p50Ms.toFixed(3)),
      p99Ms: Number(r.p99Ms.toFixed(3)),
    });
    return {
      small: { bytes: 200, ...pick(small) },
      large: { bytes: 65536, ...pick(large) },
      leanPublisher: { bytes: 200, publishesInFlight: 256, ...pick(lean) },
      publishesInFlight: window,
      droppedEvents: dropped,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
    };
  } finally {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
