import { connect, type Socket } from 'node:net';
import { FrameParser } from '../../shared/src/runtime/eventstream/frame';
import {
  encodeRpcMessage,
  MessageType,
  toRpcMessage,
  type RpcMessage,
} from '../../shared/src/runtime/eventstream/rpc';

/** A raw socket to the IPC host, for what the SDK client would never send. */
export function openRaw(
  path: string,
): Promise<{ socket: Socket; received: Buffer[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.once('connect', () => resolve({ socket, received, closed }));
    socket.once('error', reject);
  });
}

export function connectMessage(token: string): Buffer {
  return encodeRpcMessage({
    type: MessageType.Connect,
    streamId: 0,
    strings: { ':version': '0.1.0' },
    payload: JSON.stringify({ authToken: token }),
  });
}

/** An operation request on a new stream, with a payload written as given (any JSON text). */
export function operationMessage(streamId: number, operation: string, payloadText: string): Buffer {
  return encodeRpcMessage({
    type: MessageType.ApplicationMessage,
    streamId,
    strings: { operation, ':content-type': 'application/json', 'service-model-type': `${operation}Request` },
    payload: payloadText,
  });
}

export function replies(received: readonly Buffer[]): RpcMessage[] {
  return new FrameParser().push(Buffer.concat(received)).map(toRpcMessage);
}
