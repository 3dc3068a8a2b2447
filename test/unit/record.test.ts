import { thrownBy } from '../support/thrown';
import { formatRecordId, parseRecordId, recordCodec, type DrRecord } from '../../shared/src/record';

const record: DrRecord = {
  id: 'gw-1:0a1b2c3d:42',
  stream: 'pump/pressure',
  lane: 'telemetry',
  deviceId: 'pump-1',
  tsMs: 1_800_000_000_000,
  body: { pressureBar: 2.5, ok: true, tags: ['a'], extra: null },
};

describe('record model', () => {
  it('round-trips through the codec, from text and from bytes', () => {
    const text = recordCodec.encode(record);
    expect(recordCodec.decode(text)).toEqual(record);
    expect(recordCodec.decode(Buffer.from(text))).toEqual(record);
  });

  it.each([
    ['not JSON', '{"id":'],
    ['a missing field', JSON.stringify({ ...record, deviceId: undefined })],
    ['an unknown lane', JSON.stringify({ ...record, lane: 'bulk' })],
    ['a fractional timestamp', JSON.stringify({ ...record, tsMs: 1.5 })],
    ['a bad stream name', JSON.stringify({ ...record, stream: 'has space' })],
    ['an extra field', JSON.stringify({ ...record, extra: 1 })],
    ['a body that is not an object', JSON.stringify({ ...record, body: [1, 2] })],
  ])('rejects %s with RECORD_INVALID', (_, text) => {
    expect(thrownBy(() => recordCodec.decode(text))).toMatchObject({ code: 'RECORD_INVALID' });
  });

  it('formats and parses ids', () => {
    const id = formatRecordId('thing:with:colons', 'deadbeef', 12);
    expect(parseRecordId(id)).toEqual({ prefix: 'thing:with:colons:deadbeef', seq: 12 });
    for (const bad of ['', '12', 'gw:e:', 'gw:e:0', 'gw:e:-1', 'gw:e:1.5', 'gw:e:99999999999999999']) {
      expect(parseRecordId(bad)).toBeNull();
    }
  });
});
