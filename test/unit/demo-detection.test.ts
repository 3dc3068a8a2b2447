import { accountDetections, faultPlan, FaultLog } from '../../dev/detection';
import { slope } from '../../dev/memory';
import { PumpSimulator } from '../../dev/pump-simulator';

describe("the demo's detection count", () => {
  const faults = [
    { deviceId: 'p1', kind: 'valve' as const, fromMs: 10_000, toMs: 30_000 },
    { deviceId: 'p2', kind: 'bearing' as const, fromMs: 20_000, toMs: 40_000 },
  ];

  it.each([
    [
      'an onset inside the window detects, with its delay',
      [{ asset: 'p1', atMs: 12_500 }],
      [2_500, null],
      [],
    ],
    [
      'the first of several onsets in a window counts; the rest are not false',
      [
        { asset: 'p1', atMs: 15_000 },
        { asset: 'p1', atMs: 11_000 },
      ],
      [1_000, null],
      [],
    ],
    [
      'an onset up to the lag after the last faulty reading still detects',
      [{ asset: 'p2', atMs: 41_500 }],
      [null, 21_500],
      [],
    ],
    [
      'an onset of another asset in the window is a false alarm',
      [{ asset: 'p3', atMs: 12_000 }],
      [null, null],
      [{ asset: 'p3', atMs: 12_000 }],
    ],
    [
      'an onset before the fault or after its lag is a false alarm',
      [
        { asset: 'p1', atMs: 9_999 },
        { asset: 'p1', atMs: 32_001 },
      ],
      [null, null],
      [
        { asset: 'p1', atMs: 9_999 },
        { asset: 'p1', atMs: 32_001 },
      ],
    ],
  ])('%s', (_name, onsets, delays, falseAlarms) => {
    const r = accountDetections(faults, onsets, 2_000, 0.5);
    expect(r.faults.map((f) => f.delayMs)).toEqual(delays);
    expect(r.falseAlarms).toEqual(falseAlarms);
    expect(r.detected).toBe(delays.filter((d) => d !== null).length);
    expect(r.falseAlarmsPerAssetHour).toBeCloseTo(falseAlarms.length / 0.5, 12);
  });

  it('takes fault windows from the readings and asset-hours from their timestamps', () => {
    const sim = new PumpSimulator(1, ['a', 'b'], 0, 100);
    sim.schedule([{ deviceId: 'b', kind: 'valve', atMs: 1_000, durationMs: 2_000 }]);
    const log = new FaultLog();
    for (let i = 0; i < 50; i++) for (const r of sim.next()) log.observe(r);
    expect(log.windows()).toEqual([{ deviceId: 'b', kind: 'valve', fromMs: 1_000, toMs: 2_900 }]);
    expect(log.assetHours()).toBeCloseTo((2 * 4_900) / 3_600_000, 12);
  });

  it('plans the same faults for the same seed, on distinct pumps, scaled with the scenario', () => {
    const pumps = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const a = faultPlan(42, pumps, 0, 1, 20_000);
    expect(faultPlan(42, pumps, 0, 1, 20_000)).toEqual(a);
    expect(new Set(a.map((f) => f.deviceId)).size).toBe(a.length);
    expect(faultPlan(42, pumps, 0, 5, 20_000).map((f) => f.atMs)).toEqual(a.map((f) => f.atMs * 5));
    expect(faultPlan(43, pumps, 0, 1, 20_000)).not.toEqual(a);
  });

  it('fits a memory trend by least squares', () => {
    expect(
      slope([
        [0, 1],
        [1, 3],
        [2, 5],
      ]),
    ).toBeCloseTo(2, 12);
    expect(slope([[0, 4]])).toBe(0);
  });
});
