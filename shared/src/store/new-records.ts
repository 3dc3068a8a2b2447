import { jsonValueProblem } from '../codec/json-value';
import { DrError } from '../errors';
import { LANE_PRIORITY, type NewRecord } from '../record';

/** Fixed share of a record's encoded size for its id and JSON keys in an envelope. */
const RECORD_OVERHEAD_BYTES = 64;

export function recordSizeBytes(stream: string, deviceId: string, bodyJson: string): number {
  return (
    Buffer.byteLength(bodyJson) +
    Buffer.byteLength(stream) +
    Buffer.byteLength(deviceId) +
    RECORD_OVERHEAD_BYTES
  );
}

/**
 * Checks records before anything is written and serialises their bodies: RECORD_INVALID or
 * RECORD_TOO_LARGE names the first that fails, so an append is all or nothing.
 */
export function encodeNewRecords(
  records: readonly NewRecord[],
  maxRecordBodyBytes: number,
): { json: string[]; bytes: number } {
  const json: string[] = [];
  let bytes = 0;
  records.forEach((r, i) => {
    const where = `record ${i} (stream ${JSON.stringify(r.stream)})`;
    if (!(r.lane in LANE_PRIORITY))
      throw new DrError('RECORD_INVALID', `${where}: unknown lane ${String(r.lane)}`);
    if (!Number.isSafeInteger(r.tsMs) || r.tsMs < 0)
      throw new DrError('RECORD_INVALID', `${where}: tsMs must be a non-negative integer`);
    if (r.stream.length === 0 || r.deviceId.length === 0)
      throw new DrError('RECORD_INVALID', `${where}: stream and deviceId must not be empty`);
    const problem = jsonValueProblem(r.body);
    if (problem !== null) throw new DrError('RECORD_INVALID', `${where}: body: ${problem}`);
    const body = JSON.stringify(r.body);
    const bodyBytes = Buffer.byteLength(body);
    if (bodyBytes > maxRecordBodyBytes) {
      throw new DrError(
        'RECORD_TOO_LARGE',
        `${where}: body of ${bodyBytes} bytes exceeds maxRecordBodyBytes ${maxRecordBodyBytes}`,
      );
    }
    json.push(body);
    bytes += recordSizeBytes(r.stream, r.deviceId, body);
  });
  return { json, bytes };
}
