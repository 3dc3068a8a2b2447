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

/** Pump readings at the sensors' resolution, one per device per second from `fromTsMs`, numbered by `n`. */
export function readings(count: number, fromTsMs: number, devices = 4, firstN = 0): NewRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = firstN + i;
    // Noise as a sensor's: no pattern for the compressor to find.
    const wobble = Math.abs(Math.sin(n * 12.9898) * 43758.5453) % 1;
    return {
      stream: 'telemetry',
      lane: 'telemetry' as const,
      deviceId: `pump-${n % devices}`,
      tsMs: fromTsMs + Math.floor(i / devices) * 1000 + (n % devices),
      body: {
        n,
        current: Number((1.3302 + wobble / 3).toFixed(6)),
        voltage: Number((233.062 + wobble * 10).toFixed(3)),
      },
    };
  });
}
