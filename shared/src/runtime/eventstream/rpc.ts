import { encodeFrame, FrameError, type Frame, type HeaderValue } from './frame';

/** Event-stream RPC message types and flags (GREENGRASS.md, "IPC wire protocol"). */
export const MessageType = {
  ApplicationMessage: 0,
  ApplicationError: 1,
  Ping: 2,
  PingResponse: 3,
  Connect: 4,
  ConnectAck: 5,
  ProtocolError: 6,
  InternalError: 7,
} as const;

export const MessageFlags = { ConnectionAccepted: 1, TerminateStream: 2 } as const;

export const RPC_VERSION = '0.1.0';
export const JSON_CONTENT_TYPE = 'application/json';

export interface RpcMessage {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly headers: ReadonlyMap<string, HeaderValue>;
  readonly payload: Buffer;
}

function int32(frame: Frame, name: string): number {
  const h = frame.headers.get(name);
  if (h === undefined || h.type !== 'int32') throw new FrameError(`missing int32 header ${name}`);
  return h.value;
}

export function toRpcMessage(frame: Frame): RpcMessage {
  return {
    type: int32(frame, ':message-type'),
    flags: int32(frame, ':message-flags'),
    streamId: int32(frame, ':stream-id'),
    headers: frame.headers,
    payload: frame.payload,
  };
}

export function stringHeader(message: RpcMessage, name: string): string | undefined {
  const h = message.headers.get(name);
  return h?.type === 'string' ? h.value : undefined;
}

export interface OutgoingMessage {
  readonly type: number;
  readonly flags?: number;
  readonly streamId: number;
  readonly strings?: Readonly<Record<string, string>>;
  readonly payload?: Buffer | string;
}

export function encodeRpcMessage(message: OutgoingMessage): Buffer {
  const headers = new Map<string, HeaderValue>([
    [':message-type', { type: 'int32', value: message.type }],
    [':message-flags', { type: 'int32', value: message.flags ?? 0 }],
    [':stream-id', { type: 'int32', value: message.streamId }],
  ]);
  for (const [name, value] of Object.entries(message.strings ?? {}))
    headers.set(name, { type: 'string', value });
  const payload = message.payload === undefined ? Buffer.alloc(0) : Buffer.from(message.payload);
  return encodeFrame({ headers, payload });
}
