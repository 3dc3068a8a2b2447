import { crc32 } from 'node:zlib';

/**
 * AWS event-stream framing (GREENGRASS.md, "IPC wire protocol"):
 * u32 total | u32 headers length | u32 CRC32(first 8 bytes) | headers | payload | u32 CRC32(all before).
 * Big-endian; CRC32 is the zlib/IEEE one.
 */
export const PRELUDE_BYTES = 12;
export const TRAILER_BYTES = 4;
/** aws-c-event-stream's limits: 16 MiB per message, 128 KiB of headers. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const MAX_HEADERS_BYTES = 128 * 1024;

export type HeaderValue =
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'byte'; readonly value: number }
  | { readonly type: 'int16'; readonly value: number }
  | { readonly type: 'int32'; readonly value: number }
  | { readonly type: 'int64'; readonly value: bigint }
  | { readonly type: 'bytes'; readonly value: Buffer }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'timestamp'; readonly value: bigint }
  | { readonly type: 'uuid'; readonly value: Buffer };

export type Headers = ReadonlyMap<string, HeaderValue>;

export interface Frame {
  readonly headers: Headers;
  readonly payload: Buffer;
  /** The frame's size on the wire, set by the parser. */
  readonly byteLength?: number;
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const TYPE_CODE = {
  bool: 0,
  byte: 2,
  int16: 3,
  int32: 4,
  int64: 5,
  bytes: 6,
  string: 7,
  timestamp: 8,
  uuid: 9,
} as const;

function encodeHeaders(headers: Headers): Buffer {
  const parts: Buffer[] = [];
  for (const [name, h] of headers) {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length === 0 || nameBytes.length > 255)
      throw new FrameError(`header name length ${nameBytes.length}`);
    let value: Buffer;
    let code: number;
    switch (h.type) {
      case 'bool':
        code = h.value ? 0 : 1;
        value = Buffer.alloc(0);
        break;
      case 'byte':
        code = TYPE_CODE.byte;
        value = Buffer.alloc(1);
        value.writeInt8(h.value);
        break;
      case 'int16':
        code = TYPE_CODE.int16;
        value = Buffer.alloc(2);
        value.writeInt16BE(h.value);
        break;
      case 'int32':
        code = TYPE_CODE.int32;
        value = Buffer.alloc(4);
        value.writeInt32BE(h.value);
        break;
      case 'int64':
      case 'timestamp':
        code = TYPE_CODE[h.type];
        value = Buffer.alloc(8);
        value.writeBigInt64BE(h.value);
        break;
      case 'bytes':
      case 'string': {
        code = TYPE_CODE[h.type];
        const raw = h.type === 'string' ? Buffer.from(h.value, 'utf8') : h.value;
        if (raw.length > 0xffff) throw new FrameError(`header ${name} value too long`);
        value = Buffer.alloc(2 + raw.length);
        value.writeUInt16BE(raw.length);
        raw.copy(value, 2);
        break;
      }
      case 'uuid':
        if (h.value.length !== 16) throw new FrameError('uuid header must be 16 bytes');
        code = TYPE_CODE.uuid;
        value = h.value;
        break;
    }
    parts.push(Buffer.from([nameBytes.length]), nameBytes, Buffer.from([code]), value);
  }
  return Buffer.concat(parts);
}

export function encodeFrame(frame: Frame): Buffer {
  const headers = encodeHeaders(frame.headers);
  const total = PRELUDE_BYTES + headers.length + frame.payload.length + TRAILER_BYTES;
  if (total > MAX_FRAME_BYTES) throw new FrameError(`frame of ${total} bytes exceeds ${MAX_FRAME_BYTES}`);
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(headers.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  headers.copy(out, PRELUDE_BYTES);
  frame.payload.copy(out, PRELUDE_BYTES + headers.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - TRAILER_BYTES)), total - TRAILER_BYTES);
  return out;
}

function decodeHeaders(buf: Buffer): Map<string, HeaderValue> {
  const headers = new Map<string, HeaderValue>();
  let at = 0;
  const need = (n: number): void => {
    if (at + n > buf.length) throw new FrameError('header runs past the header block');
  };
  while (at < buf.length) {
    need(1);
    const nameLen = buf.readUInt8(at);
    at += 1;
    if (nameLen === 0) throw new FrameError('empty header name');
    need(nameLen + 1);
    const name = buf.toString('utf8', at, at + nameLen);
    at += nameLen;
    const code = buf.readUInt8(at);
    at += 1;
    let value: HeaderValue;
    switch (code) {
      case 0:
      case 1:
        value = { type: 'bool', value: code === 0 };
        break;
      case 2:
        need(1);
        value = { type: 'byte', value: buf.readInt8(at) };
        at += 1;
        break;
      case 3:
        need(2);
        value = { type: 'int16', value: buf.readInt16BE(at) };
        at += 2;
        break;
      case 4:
        need(4);
        value = { type: 'int32', value: buf.readInt32BE(at) };
        at += 4;
        break;
      case 5:
      case 8:
        need(8);
        value = { type: code === 5 ? 'int64' : 'timestamp', value: buf.readBigInt64BE(at) };
        at += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const len = buf.readUInt16BE(at);
        at += 2;
        need(len);
        const raw = Buffer.from(buf.subarray(at, at + len));
        at += len;
        value = code === 6 ? { type: 'bytes', value: raw } : { type: 'string', value: raw.toString('utf8') };
        break;
      }
      case 9:
        need(16);
        value = { type: 'uuid', value: Buffer.from(buf.subarray(at, at + 16)) };
        at += 16;
        break;
      default:
        throw new FrameError(`unknown header type ${code} for ${name}`);
    }
    headers.set(name, value);
  }
  return headers;
}

/**
 * Incremental parser: feed it socket chunks in any split; it returns every complete frame and keeps the
 * rest. Any violation (bad length, bad CRC, bad header) throws FrameError: the connection is unusable.
 */
export class FrameParser {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;

  /** The largest frame accepted; a peer announcing a larger one is refused before it is buffered. */
  maxFrameBytes: number;

  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.bufferedBytes < PRELUDE_BYTES) break;
      const first = this.buffered[0] as Buffer;
      const prelude = first.length >= PRELUDE_BYTES ? first : Buffer.concat(this.buffered, PRELUDE_BYTES);
      const total = prelude.readUInt32BE(0);
      const headersLen = prelude.readUInt32BE(4);
      if (prelude.readUInt32BE(8) !== crc32(prelude.subarray(0, 8)))
        throw new FrameError('prelude CRC mismatch');
      if (total < PRELUDE_BYTES + TRAILER_BYTES || total > this.maxFrameBytes)
        throw new FrameError(`bad frame length ${total} (at most ${this.maxFrameBytes})`);
      if (headersLen > MAX_HEADERS_BYTES || PRELUDE_BYTES + headersLen + TRAILER_BYTES > total)
        throw new FrameError(`bad headers length ${headersLen}`);
      // Joined only once the whole frame is here: a slow large frame costs no repeated copies.
      if (this.bufferedBytes < total) break;
      const data = this.buffered.length === 1 ? first : Buffer.concat(this.buffered, this.bufferedBytes);
      this.buffered = [data];
      const frameBytes = data.subarray(0, total);
      if (
        frameBytes.readUInt32BE(total - TRAILER_BYTES) !==
        crc32(frameBytes.subarray(0, total - TRAILER_BYTES))
      )
        throw new FrameError('message CRC mismatch');
      const headers = decodeHeaders(frameBytes.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headersLen));
      const payload = Buffer.from(frameBytes.subarray(PRELUDE_BYTES + headersLen, total - TRAILER_BYTES));
      frames.push({ headers, payload, byteLength: total });
      const rest = data.subarray(total);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
    }
    return frames;
  }
}
