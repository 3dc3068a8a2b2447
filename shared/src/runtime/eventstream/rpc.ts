import { crc32 } from 'node:zlib';
import {
  FrameError,
  MAX_FRAME_BYTES,
  PRELUDE_BYTES,
  TRAILER_BYTES,
  type Frame,
  type HeaderValue,
} from './frame';

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
  /** Size on the wire (0 when not known). */
  readonly byteLength: number;
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
    byteLength: frame.byteLength ?? 0,
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

const INT32_HEADER_NAMES = [':message-type', ':message-flags', ':stream-id'].map((n) =>
  Buffer.from(n, 'utf8'),
);
/** Encoded `name/type/value` bytes of string headers; their set is small (content types, shape names). */
const stringHeaderCache = new Map<string, Buffer>();
const MAX_CACHED_HEADERS = 512;

function stringHeaderBytes(name: string, value: string): Buffer {
  const key = `${name}\u0000${value}`;
  const cached = stringHeaderCache.get(key);
  if (cached !== undefined) return cached;
  const nameBytes = Buffer.from(name, 'utf8');
  const valueBytes = Buffer.from(value, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > 255 || valueBytes.length > 0xffff) {
    throw new FrameError(`header ${name} cannot be encoded`);
  }
  const out = Buffer.allocUnsafe(1 + nameBytes.length + 1 + 2 + valueBytes.length);
  let at = out.writeUInt8(nameBytes.length, 0);
  at += nameBytes.copy(out, at);
  at = out.writeUInt8(7, at); // type 7: string
  at = out.writeUInt16BE(valueBytes.length, at);
  valueBytes.copy(out, at);
  if (stringHeaderCache.size < MAX_CACHED_HEADERS) stringHeaderCache.set(key, out);
  return out;
}

/**
 * Encodes an RPC message in one allocation: the three int32 headers every message carries, then the
 * string headers (cached: the same few recur on every message), then the payload.
 */
export function encodeRpcMessage(message: OutgoingMessage): Buffer {
  const strings = Object.entries(message.strings ?? {}).map(([n, v]) => stringHeaderBytes(n, v));
  const payload =
    message.payload === undefined
      ? EMPTY
      : typeof message.payload === 'string'
        ? Buffer.from(message.payload, 'utf8')
        : message.payload;
  const intBytes = INT32_HEADER_NAMES.reduce((n, name) => n + 1 + name.length + 1 + 4, 0);
  const headersLen = intBytes + strings.reduce((n, b) => n + b.length, 0);
  const total = PRELUDE_BYTES + headersLen + payload.length + TRAILER_BYTES;
  if (total > MAX_FRAME_BYTES) throw new FrameError(`frame of ${total} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headersLen, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  let at = PRELUDE_BYTES;
  const values = [message.type, message.flags ?? 0, message.streamId];
  INT32_HEADER_NAMES.forEach((name, i) => {
    at = out.writeUInt8(name.length, at);
    at += name.copy(out, at);
    at = out.writeUInt8(4, at); // type 4: int32
    at = out.writeInt32BE(values[i] ?? 0, at);
  });
  for (const b of strings) at += b.copy(out, at);
  at += payload.copy(out, at);
  out.writeUInt32BE(crc32(out.subarray(0, at)), at);
  return out;
}

const EMPTY = Buffer.alloc(0);
