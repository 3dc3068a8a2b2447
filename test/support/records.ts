import type { Lane, NewRecord } from '../../shared/src/record';

export function telemetry(tsMs: number, n: number, stream = 'pump/pressure', deviceId = 'pump-1'): NewRecord {
  return { stream, lane: 'telemetry', deviceId, tsMs, body: { n, pressureBar: 1.5 + n / 1000 } };
}

export function alert(tsMs: number, n: number): NewRecord {
  return { stream: 'anomaly', lane: 'alert', deviceId: 'pump-1', tsMs, body: { n, score: 9.5 } };
}

/** A record with a body of about `bytes` bytes. */
export function sized(
  lane: Lane,
  tsMs: number,
  n: number,
  bytes: number,
  stream = 'pump/vibration',
): NewRecord {
  return { stream, lane, deviceId: 'pump-2', tsMs, body: { n, pad: 'x'.repeat(Math.max(0, bytes - 20)) } };
}
