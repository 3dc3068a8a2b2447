import { FrameParser } from '../../shared/src/runtime/eventstream/frame';
import {
  encodeRpcMessage,
  MessageFlags,
  MessageType,
  toRpcMessage,
} from '../../shared/src/runtime/eventstream/rpc';
import { connectMessage, openRaw } from '../support/raw-ipc';
import type { LocalIpcHost } from '../../shared/src/runtime/host/ipc-host';
import { captureLogger, connectClient, eventually, startHost } from '../support/ipc';
import { useTempDir } from '../support/temp-dir';

describe('local IPC host against malformed input on a raw socket', () => {
  let host: LocalIpcHost;
  let capture: ReturnType<typeof captureLogger>;
  let token: string;
  afterEach(async () => {
    await host.stop(); // before the temp dir goes: hooks run in declaration order
  });
  const tempDir = useTempDir('ggdr-raw-');

  beforeEach(async () => {
    capture = captureLogger();
    host = await startHost(tempDir(), capture.logger);
    token = host.addComponent('com.test.Raw', {}).token;
  });

  /** After each abuse, a well-behaved SDK client still gets served. */
  async function hostStillServes(): Promise<void> {
    const client = await connectClient(host, token);
    try {
      expect((await client.getConfiguration({ keyPath: [] })).componentName).toBe('com.test.Raw');
    } finally {
      await client.close();
    }
  }

  async function expectClosedWithLog(bytes: Buffer, message: RegExp): Promise<void> {
    const raw = await openRaw(host.socketPath);
    raw.socket.write(bytes);
    await raw.closed;
    await eventually(() => capture.lines().some((l) => message.test(String(l['msg']))), 5_000, 'log line');
    await hostStillServes();
  }

  it('closes a connection that sends garbage', async () => {
    await expectClosedWithLog(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /malformed frame/);
  });

  it('closes a connection whose frame has a bad message CRC', async () => {
    const frame = Buffer.from(connectMessage(token));
    frame.writeUInt8(frame.readUInt8(frame.length - 5) ^ 0xff, frame.length - 5);
    await expectClosedWithLog(frame, /malformed frame/);
  });

  it('closes a connection whose prelude CRC is wrong', async () => {
    const frame = Buffer.from(connectMessage(token));
    frame.writeUInt8(frame.readUInt8(9) ^ 0x01, 9);
    await expectClosedWithLog(frame, /malformed frame/);
  });

  it('closes a connection that sends an operation before connecting', async () => {
    const op = encodeRpcMessage({
      type: MessageType.ApplicationMessage,
      streamId: 1,
      strings: { operation: 'aws.greengrass#GetConfiguration' },
      payload: '{"keyPath":[]}',
    });
    await expectClosedWithLog(op, /protocol error/);
  });

  it('refuses a bad token with a ConnectAck that does not accept, then closes', async () => {
    const raw = await openRaw(host.socketPath);
    raw.socket.write(connectMessage('wrong'));
    await raw.closed;
    const [ack] = new FrameParser().push(Buffer.concat(raw.received)).map(toRpcMessage);
    expect(ack?.type).toBe(MessageType.ConnectAck);
    expect((ack?.flags ?? 0) & MessageFlags.ConnectionAccepted).toBe(0);
    await hostStillServes();
  });

  it('answers a ping after the handshake and survives a frame split byte by byte', async () => {
    const raw = await openRaw(host.socketPath);
    const bytes = Buffer.concat([
      connectMessage(token),
      encodeRpcMessage({ type: MessageType.Ping, streamId: 0, payload: 'hi' }),
    ]);
    for (const b of bytes) raw.socket.write(Buffer.from([b]));
    await eventually(
      () => new FrameParser().push(Buffer.concat(raw.received)).length === 2,
      5_000,
      'two replies',
    );
    const [ack, pong] = new FrameParser().push(Buffer.concat(raw.received)).map(toRpcMessage);
    expect(ack?.flags).toBe(MessageFlags.ConnectionAccepted);
    expect(pong?.type).toBe(MessageType.PingResponse);
    expect(pong?.payload.toString()).toBe('hi');
    raw.socket.destroy();
    await hostStillServes();
  });

  it('keeps other clients connected while one misbehaves', async () => {
    const client = await connectClient(host, token);
    try {
      await expectClosedWithLog(Buffer.alloc(64, 0xee), /malformed frame/);
      expect((await client.getConfiguration({ keyPath: [] })).componentName).toBe('com.test.Raw');
    } finally {
      await client.close();
    }
  });
});
