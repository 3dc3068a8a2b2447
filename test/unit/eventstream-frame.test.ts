import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import {
  encodeRpcMessage,
  MessageFlags,
  MessageType,
  toRpcMessage,
} from '../../shared/src/runtime/eventstream/rpc';
import {
  encodeFrame,
  FrameError,
  FrameParser,
  type Frame,
  type HeaderValue,
} from '../../shared/src/runtime/eventstream/frame';

const sample: Frame = {
  headers: new Map<string, HeaderValue>([
    [':message-type', { type: 'int32', value: 0 }],
    [':message-flags', { type: 'int32', value: 2 }],
    [':stream-id', { type: 'int32', value: 7 }],
    ['operation', { type: 'string', value: 'aws.greengrass#PublishToTopic' }],
    ['t', { type: 'bool', value: true }],
    ['f', { type: 'bool', value: false }],
    ['b', { type: 'byte', value: -3 }],
    ['s', { type: 'int16', value: -300 }],
    ['l', { type: 'int64', value: -(2n ** 40n) }],
    ['bytes', { type: 'bytes', value: Buffer.from([0, 1, 2, 255]) }],
    ['ts', { type: 'timestamp', value: 1_700_000_000_000n }],
    ['id', { type: 'uuid', value: Buffer.alloc(16, 9) }],
  ]),
  payload: Buffer.from('{"topic":"a/b"}'),
};

function flip(bytes: Buffer, at: number, mask = 0x01): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ mask, at);
}

describe('event-stream framing', () => {
  it('lays out prelude, headers, payload and both CRCs as the protocol says', () => {
    const bytes = encodeFrame(sample);
    const total = bytes.readUInt32BE(0);
    const headersLen = bytes.readUInt32BE(4);
    expect(total).toBe(bytes.length);
    expect(bytes.readUInt32BE(8)).toBe(crc32(bytes.subarray(0, 8)));
    expect(bytes.readUInt32BE(total - 4)).toBe(crc32(bytes.subarray(0, total - 4)));
    expect(bytes.subarray(12 + headersLen, total - 4).toString()).toBe('{"topic":"a/b"}');
  });

  it('round-trips every header type', () => {
    const [frame] = new FrameParser().push(encodeFrame(sample));
    expect(frame?.payload.equals(sample.payload)).toBe(true);
    expect(frame?.headers).toEqual(sample.headers);
  });

  it('parses frames split at any byte and several frames in one chunk', () => {
    const one = encodeFrame(sample);
    const stream = Buffer.concat([one, one, one]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 8 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const parser = new FrameParser();
        const frames: Frame[] = [];
        let from = 0;
        for (const p of [...points, stream.length]) {
          frames.push(...parser.push(stream.subarray(from, p)));
          from = p;
        }
        expect(frames).toHaveLength(3);
        for (const f of frames) expect(f.payload.equals(sample.payload)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['a flipped payload bit (message CRC)', (b: Buffer) => flip(b, b.length - 6)],
    ['a flipped length bit (prelude CRC)', (b: Buffer) => flip(b, 2)],
    ['a flipped trailer bit', (b: Buffer) => flip(b, b.length - 1)],
  ])('rejects %s', (_, corrupt) => {
    const bytes = Buffer.from(encodeFrame(sample));
    corrupt(bytes);
    expect(() => new FrameParser().push(bytes)).toThrow(FrameError);
  });

  it('rejects impossible lengths before buffering them', () => {
    const prelude = Buffer.alloc(12);
    prelude.writeUInt32BE(0x7fffffff, 0);
    prelude.writeUInt32BE(0, 4);
    prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
    expect(() => new FrameParser().push(prelude)).toThrow(/bad frame length/);
  });

  it('never throws anything but FrameError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
        try {
          new FrameParser().push(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('RPC message encoding', () => {
  it('produces frames the generic parser reads back with the right headers', () => {
    const bytes = encodeRpcMessage({
      type: MessageType.ApplicationMessage,
      flags: MessageFlags.TerminateStream,
      streamId: 42,
      strings: {
        ':content-type': 'application/json',
        'service-model-type': 'aws.greengrass#PublishToTopicResponse',
      },
      payload: '{}',
    });
    const [frame] = new FrameParser().push(bytes);
    expect(frame).toBeDefined();
    const msg = toRpcMessage(frame as Frame);
    expect(msg).toMatchObject({ type: 0, flags: 2, streamId: 42 });
    expect(msg.headers.get('service-model-type')).toEqual({
      type: 'string',
      value: 'aws.greengrass#PublishToTopicResponse',
    });
    expect(msg.payload.toString()).toBe('{}');
    // Identical to the generic encoder's output for the same headers in the same order.
    expect(
      encodeFrame({
        headers: new Map<string, HeaderValue>([
          [':message-type', { type: 'int32', value: 0 }],
          [':message-flags', { type: 'int32', value: 2 }],
          [':stream-id', { type: 'int32', value: 42 }],
          [':content-type', { type: 'string', value: 'application/json' }],
          ['service-model-type', { type: 'string', value: 'aws.greengrass#PublishToTopicResponse' }],
        ]),
        payload: Buffer.from('{}'),
      }).equals(bytes),
    ).toBe(true);
  });
});
