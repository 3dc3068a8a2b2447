/**
 * One side of the IPC benchmark, in its own process like a component.
 *   ipc-client subscribe <socket> <token> <bytes> <count>
 *     prints `ready`, then one JSON line: throughput and publish-to-receive latency
 *   ipc-client publish <socket> <token> <bytes> <count> <window>
 *     publishes `count` messages with `window` publishes in flight
 *   ipc-client publish-readings <socket> <token> - <count> <window>
 *     sensor readings on sensors/pump-N/vibration, for the Ingest benchmark
 *   ipc-client publish-raw <socket> <token> <bytes> <count> <window>
 *     the same with a lean wire-protocol publisher instead of the SDK client
 * Latency uses performance.timeOrigin + performance.now(), comparable across processes on one machine.
 */
import type { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import { createConnection } from 'node:net';
import { FrameParser } from '../shared/src/runtime/eventstream/frame';
import { createIpcClient } from '../shared/src/runtime/ipc-client';
import {
  encodeRpcMessage,
  MessageType,
  RPC_VERSION,
  toRpcMessage,
} from '../shared/src/runtime/eventstream/rpc';

function connect(socketPath: string, token: string): Promise<greengrasscoreipc.Client> {
  const client = createIpcClient(socketPath, token);
  return client.connect().then(() => client);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const now = (): number => performance.timeOrigin + performance.now();

/** Runs `send(0 .. count-1)` with at most `window` calls in flight. */
async function inFlight(window: number, count: number, send: (n: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

async function subscribe(socketPath: string, token: string, bytes: number, count: number): Promise<void> {
  const sub = await connect(socketPath, token);
  const binary = bytes > 4096;
  const latencies: number[] = [];
  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let done: () => void = () => undefined;
  const allIn = new Promise<void>((r) => (done = r));
  const stream = sub.subscribeToTopic({ topic: 'bench/ipc' });
  stream.on('message', (m: greengrasscoreipc.model.SubscriptionResponseMessage) => {
    const at = now();
    const sentAt = binary
      ? Buffer.from(m.binaryMessage?.message as Uint8Array).readDoubleBE(0)
      : (m.jsonMessage?.message as { sentAt: number }).sentAt;
    latencies.push(at - sentAt);
    if (received === 0) firstAt = sentAt;
    received += 1;
    lastAt = at;
    if (received === count) done();
  });
  await stream.activate();
  process.stdout.write('ready\n');
  let giveUp: NodeJS.Timeout | undefined;
  await Promise.race([allIn, new Promise((r) => (giveUp = setTimeout(r, 120_000)))]);
  clearTimeout(giveUp);
  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      messages: count,
      received,
      bytes,
      messagesPerSec: received / ((lastAt - firstAt) / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    })}\n`,
  );
  await stream.close();
  await sub.close();
}

async function publish(
  socketPath: string,
  token: string,
  bytes: number,
  count: number,
  window: number,
): Promise<void> {
  const pub = await connect(socketPath, token);
  // JSON messages of about `bytes` bytes; large ones as binary (the host relays them base64-encoded).
  const pad = 'x'.repeat(Math.max(0, bytes - 50));
  const blob = Buffer.alloc(bytes, 0x61);
  const publishOne = (seq: number): Promise<unknown> => {
    if (bytes > 4096) {
      const payload = Buffer.from(blob);
      payload.writeDoubleBE(now(), 0);
      return pub.publishToTopic({
        topic: 'bench/ipc',
        publishMessage: { binaryMessage: { message: payload } },
      });
    }
    return pub.publishToTopic({
      topic: 'bench/ipc',
      publishMessage: { jsonMessage: { message: { seq, sentAt: now(), pad } } },
    });
  };
  await inFlight(window, count, publishOne);
  await pub.close();
}

/**
 * A lean publisher speaking the wire protocol with the project's own codec, many requests in flight:
 * it costs far less CPU than the SDK client, so the host's own capacity shows.
 */
async function publishRaw(
  socketPath: string,
  token: string,
  bytes: number,
  count: number,
  window: number,
): Promise<void> {
  const socket = createConnection(socketPath);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const parser = new FrameParser();
  let acked = 0;
  let connected: () => void = () => undefined;
  const handshake = new Promise<void>((r) => (connected = r));
  let pump: () => void = () => undefined;
  let finished: () => void = () => undefined;
  const allAcked = new Promise<void>((r) => (finished = r));
  socket.on('data', (chunk: Buffer) => {
    for (const m of parser.push(chunk).map(toRpcMessage)) {
      if (m.type === MessageType.ConnectAck) connected();
      else if (m.streamId > 0) {
        acked += 1;
        if (acked === count) finished();
        else pump();
      }
    }
  });
  socket.write(
    encodeRpcMessage({
      type: MessageType.Connect,
      streamId: 0,
      strings: { ':version': RPC_VERSION },
      payload: JSON.stringify({ authToken: token }),
    }),
  );
  await handshake;
  const pad = 'x'.repeat(Math.max(0, bytes - 50));
  let sent = 0;
  pump = (): void => {
    while (sent < count && sent - acked < window) {
      sent += 1;
      socket.write(
        encodeRpcMessage({
          type: MessageType.ApplicationMessage,
          streamId: sent,
          strings: { operation: 'aws.greengrass#PublishToTopic' },
          payload: JSON.stringify({
            topic: 'bench/ipc',
            publishMessage: { jsonMessage: { message: { seq: sent, sentAt: now(), pad } } },
          }),
        }),
      );
    }
  };
  pump();
  await allAcked;
  socket.end();
}

/** Sensor readings as a device bridge would publish them, stamped with their send time. */
async function publishReadings(
  socketPath: string,
  token: string,
  count: number,
  window: number,
): Promise<void> {
  const pub = await connect(socketPath, token);
  await inFlight(window, count, async (n) => {
    await pub.publishToTopic({
      topic: `sensors/pump-${n % 8}/vibration`,
      publishMessage: {
        jsonMessage: {
          message: {
            ts: Date.now(),
            sentAt: now(),
            n,
            rms: 0.0273 + (n % 100) / 1e4,
            current: 0.8 + (n % 13) / 100,
            temperature: 71.2,
          },
        },
      },
    });
  });
  await pub.close();
}

async function run(): Promise<void> {
  const [mode, socketPath = '', token = '', bytesText = '200', countText = '1000', windowText = '64'] =
    process.argv.slice(2);
  if (mode === 'subscribe') await subscribe(socketPath, token, Number(bytesText), Number(countText));
  else if (mode === 'publish-readings')
    await publishReadings(socketPath, token, Number(countText), Number(windowText));
  else if (mode === 'publish-raw')
    await publishRaw(socketPath, token, Number(bytesText), Number(countText), Number(windowText));
  else if (mode === 'publish')
    await publish(socketPath, token, Number(bytesText), Number(countText), Number(windowText));
  else throw new Error(`unknown mode ${String(mode)}`);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
