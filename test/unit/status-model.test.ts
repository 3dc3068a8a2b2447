import { activeAlarmAssets, AnomalyBook, anomalyEvent } from '../../components/status/src/core/anomalies';
import { IntervalEstimate, judgeComponent } from '../../components/status/src/core/component-state';
import { StatusModel } from '../../components/status/src/core/status-model';
import { SwitchLog } from '../../components/status/src/core/switches';

const T0 = 1_800_000_000_000;

describe('component state from what the page hears', () => {
  it.each([
    { name: 'heard 5 s ago, every 10 s', heard: T0 - 5_000, deployed: true, state: 'reporting' },
    {
      name: 'heard 30 s ago, every 10 s (3 intervals)',
      heard: T0 - 30_000,
      deployed: true,
      state: 'reporting',
    },
    { name: 'heard 31 s ago', heard: T0 - 31_000, deployed: true, state: 'silent' },
    {
      name: 'nothing yet, page up 20 s',
      heard: null,
      deployed: null,
      started: T0 - 20_000,
      state: 'waiting',
    },
    { name: 'nothing in 40 s', heard: null, deployed: true, started: T0 - 40_000, state: 'silent' },
    {
      name: 'no configuration on the nucleus',
      heard: null,
      deployed: false,
      started: T0 - 40_000,
      state: 'not-deployed',
    },
    // Heard means deployed, whatever an earlier configuration lookup said.
    { name: 'heard though the lookup failed', heard: T0 - 1_000, deployed: false, state: 'reporting' },
  ])('$name: $state', ({ heard, deployed, started, state }) => {
    const j = judgeComponent(
      { lastHeardMs: heard, intervalMs: 10_000, deployed: heard === null ? deployed : true },
      T0,
      started ?? T0 - 3_600_000,
      3,
    );
    expect(j.state).toBe(state);
  });

  it('learns the interval as the median of recent gaps, not moved by one late document', () => {
    const e = new IntervalEstimate();
    e.observe(0);
    e.observe(1_000);
    expect(e.medianMs()).toBeUndefined();
    for (const t of [2_000, 3_000, 9_000, 10_000, 11_000]) e.observe(t);
    expect(e.medianMs()).toBe(1_000);
  });
});

describe('region switches as the page keeps them', () => {
  it('keeps switches past what one status lists, and completes an entry when its first PUBACK comes', () => {
    const log = new SwitchLog(3);
    const failover = {
      kind: 'failover',
      from: 'a',
      to: 'b',
      reason: 'a down',
      switchedAtMs: T0,
      lastGoodMs: T0 - 3_000,
      detectionMs: 2_900,
    };
    log.observe([failover]);
    expect(log.list()[0]).toMatchObject({ kind: 'failover', switchMs: null, outageMs: null });
    log.observe([{ ...failover, firstAckMs: T0 + 120, switchMs: 120 }]);
    expect(log.list()).toEqual([
      expect.objectContaining({ kind: 'failover', switchMs: 120, outageMs: 3_120, detectionMs: 2_900 }),
    ]);
    for (let i = 1; i <= 5; i++)
      log.observe([{ kind: 'failback', from: 'b', to: 'a', switchedAtMs: T0 + i * 1_000 }]);
    expect(log.list().map((s) => s.switchedAtMs)).toEqual([T0 + 5_000, T0 + 4_000, T0 + 3_000]);
    log.observe('not a list');
    log.observe([{ kind: 'failover' }, null, 7]);
    expect(log.list()).toHaveLength(3);
  });
});

describe('anomalies per asset', () => {
  const event = (asset: string, state: string, atMs: number): Record<string, unknown> => ({
    type: 'anomaly',
    state,
    asset,
    atMs,
    score: 2.5,
    threshold: 1,
    contributors: [{ feature: 'pressure.mean', share: 0.7 }],
  });

  it('counts onsets in the window, knows which alarms are on and keeps the newest events', () => {
    const book = new AnomalyBook(3_600_000, { maxAssets: 10, maxOnsetsPerAsset: 5, maxRecent: 3 });
    const add = (asset: string, state: string, at: number): void =>
      book.add(anomalyEvent(event(asset, state, at), at)!);
    add('pump-1', 'onset', T0 - 4_000_000); // outside the hour
    add('pump-1', 'recovery', T0 - 3_000_000);
    add('pump-1', 'onset', T0 - 60_000);
    add('pump-2', 'onset', T0 - 50_000);
    add('pump-2', 'recovery', T0 - 40_000);
    const assets = book.assetsView(T0);
    expect(assets.map((a) => [a.asset, a.active, a.onsetsInWindow])).toEqual([
      ['pump-1', true, 1],
      ['pump-2', false, 1],
    ]);
    expect(assets[0]?.last).toMatchObject({ topContributor: 'pressure.mean', score: 2.5 });
    expect(book.recentView().map((e) => `${e.asset} ${e.state}`)).toEqual([
      'pump-2 recovery',
      'pump-2 onset',
      'pump-1 onset',
    ]);
  });

  it('forgets the least recently active asset beyond its limit', () => {
    const book = new AnomalyBook(3_600_000, { maxAssets: 3, maxOnsetsPerAsset: 5, maxRecent: 3 });
    for (let i = 0; i < 10; i++) book.add(anomalyEvent(event(`pump-${i}`, 'onset', T0 + i), T0 + i)!);
    expect(book.assetsView(T0 + 10).map((a) => a.asset)).toEqual(['pump-9', 'pump-8', 'pump-7']);
  });

  it('takes no document that is not an anomaly event', () => {
    expect(anomalyEvent({ state: 'onset' }, T0)).toBeUndefined();
    expect(anomalyEvent({ asset: 'p', state: 'maybe' }, T0)).toBeUndefined();
    expect(anomalyEvent({ deviceId: 'p', state: 'recovery', durationMs: 5 }, T0)).toMatchObject({
      asset: 'p',
      atMs: T0,
      durationMs: 5,
      topContributor: null,
    });
  });

  it.each([
    {
      name: 'an event newer than the metrics wins',
      eventAt: T0,
      metricsAt: T0 - 1,
      listed: [],
      active: ['p'],
    },
    { name: 'metrics newer than the event win', eventAt: T0 - 1, metricsAt: T0, listed: [], active: [] },
    {
      name: 'an alarm from before the page started',
      eventAt: null,
      metricsAt: T0,
      listed: ['q'],
      active: ['q'],
    },
  ])('active alarms: $name', ({ eventAt, metricsAt, listed, active }) => {
    const book = new AnomalyBook(3_600_000);
    if (eventAt !== null) book.add(anomalyEvent(event('p', 'onset', eventAt), eventAt)!);
    expect(activeAlarmAssets(book.assetsView(T0), { assets: listed, atMs: metricsAt })).toEqual(active);
  });
});

describe('the status model', () => {
  const options = { historyMs: 3_600_000, bucketMs: 10_000, staleAfterIntervals: 3, rateWindowMs: 30_000 };
  const bufferMetrics = (atMs: number, telemetry: number, extra: Record<string, unknown> = {}) => ({
    component: 'com.edgedr.Buffer',
    atMs,
    lanes: {
      alert: { depth: 2, bytes: 400, oldestTsMs: atMs - 5_000, oldestAgeMs: 5_000 },
      telemetry: { depth: telemetry, bytes: telemetry * 200, oldestTsMs: atMs - 60_000, oldestAgeMs: 60_000 },
    },
    liveTelemetryDepth: 100,
    usedBytes: 5e6,
    fileBytes: 6e6,
    walBytes: 1e6,
    maxStoreBytes: 536_870_912,
    evictedRecordsTotal: 0,
    evictionRoundsTotal: 0,
    deadLettersStored: 3,
    deadLettersTotal: 3,
    deadLettersDroppedTotal: 0,
    deadLettersByReason: { not_json: 2, non_finite: 1 },
    configuration: {
      validatedByNucleus: false,
      refused: 1,
      lastRefusal: { atMs: T0, problems: 'x: expected number' },
      runningLastGood: true,
    },
    ...extra,
  });
  const replayStatus = (atMs: number, active: string, delivered: number, switches: unknown[] = []) => ({
    thing: 'gw',
    atMs,
    activeRegion: active,
    pinnedRegion: null,
    paused: false,
    regionHealth: {
      'region-a': {
        status: active === 'region-a' ? 'healthy' : 'down',
        reason: null,
        latencyMs: 4.2,
        connected: true,
        lastSuccessMs: atMs - 500,
      },
      'region-b': {
        status: 'healthy',
        reason: null,
        latencyMs: 6,
        connected: true,
        lastSuccessMs: atMs - 100,
      },
    },
    delivered: { [active]: { records: delivered, batches: 10 } },
    inFlightBatches: 1,
    recentSwitches: switches,
  });

  it('shows backlog, regions, rates, switches, dead letters and the store from the documents, with explicit time', () => {
    const m = new StatusModel(options, T0);
    m.configured('com.edgedr.Buffer', true, 10_000);
    m.configured('com.edgedr.Replay', true, 5_000);
    m.configured('com.edgedr.Ingest', false, null);
    for (let i = 0; i <= 6; i++) {
      const t = T0 + i * 5_000;
      m.receive('replayStatus', replayStatus(t, 'region-a', i * 1_000), t);
      m.receive('ingestMetrics', { accepted: i * 1_100, anomalies: i * 100, rejected: { overload: 4 } }, t);
    }
    m.receive('bufferMetrics', bufferMetrics(T0 + 30_000, 500), T0 + 30_000);
    m.diskReading({ path: '/data/store', freeBytes: 8e9, totalBytes: 3.2e10 }, T0 + 30_000);
    const s = m.snapshot(T0 + 32_000);
    expect(s.components.map((c) => [c.name, c.state, c.intervalSource])).toEqual([
      ['com.edgedr.Buffer', 'reporting', 'configuration'],
      ['com.edgedr.Ingest', 'reporting', 'observed'],
      // Nothing from Inference in 32 s, at its default interval of 10 s.
      ['com.edgedr.Inference', 'silent', 'default'],
      ['com.edgedr.Replay', 'reporting', 'configuration'],
    ]);
    expect(s.components[0]?.configuration).toMatchObject({ runningLastGood: true, refused: 1 });
    expect(s.backlog).toMatchObject({
      stale: false,
      alert: { depth: 2, oldestAgeMs: 7_000 },
      telemetry: { depth: 500, oldestAgeMs: 62_000 },
      liveTelemetry: 100,
      backlogTelemetry: 400,
    });
    expect(s.replay).toMatchObject({ activeRegion: 'region-a', stale: false, inFlightBatches: 1 });
    expect(s.replay?.regions.map((r) => [r.name, r.active, r.status, r.lastSuccessAgeMs])).toEqual([
      ['region-a', true, 'healthy', 2_500],
      ['region-b', false, 'healthy', 2_100],
    ]);
    expect(s.rates).toMatchObject({ windowMs: 30_000, drainRecordsPerSec: 200, ingestRecordsPerSec: 200 });
    expect(s.deadLetters).toMatchObject({
      storedByReason: { not_json: 2, non_finite: 1 },
      stored: 3,
      ingestRejected: { overload: 4 },
    });
    expect(s.store).toMatchObject({ usedBytes: 5e6, maxStoreBytes: 536_870_912, effectiveLimitBytes: null });
    expect(s.disk).toEqual({
      source: 'statfs',
      path: '/data/store',
      freeBytes: 8e9,
      totalBytes: 3.2e10,
      asOfMs: T0 + 30_000,
    });
    expect(s.series.series['drainPerSec']?.filter((v) => v !== null).length).toBeGreaterThan(0);
    expect(s.series.series['backlogTelemetry']?.at(-1)).toBe(500);
    expect(s.series.series['backlogTelemetry']?.at(-2)).toBeNull();
  });

  it('follows a failover and marks what a silent component said as not current', () => {
    const m = new StatusModel(options, T0);
    m.configured('com.edgedr.Replay', true, 5_000);
    m.receive('replayStatus', replayStatus(T0, 'region-a', 100), T0);
    const failover = {
      kind: 'failover',
      from: 'region-a',
      to: 'region-b',
      reason: 'no PUBACK',
      switchedAtMs: T0 + 3_000,
      lastGoodMs: T0 + 100,
      detectionMs: 2_800,
    };
    m.receive('replayStatus', replayStatus(T0 + 5_000, 'region-b', 50, [failover]), T0 + 5_000);
    m.receive(
      'replayStatus',
      replayStatus(T0 + 10_000, 'region-b', 90, [{ ...failover, firstAckMs: T0 + 3_200, switchMs: 200 }]),
      T0 + 10_000,
    );
    const live = m.snapshot(T0 + 11_000);
    expect(live.replay).toMatchObject({ activeRegion: 'region-b', stale: false });
    expect(live.switches).toEqual([
      expect.objectContaining({
        kind: 'failover',
        from: 'region-a',
        to: 'region-b',
        switchMs: 200,
        outageMs: 3_100,
      }),
    ]);
    const later = m.snapshot(T0 + 30_000);
    expect(later.components.find((c) => c.name === 'com.edgedr.Replay')?.state).toBe('silent');
    expect(later.replay).toMatchObject({ activeRegion: 'region-b', stale: true });
  });

  it('takes the free disk from Buffer when its metrics carry it, and the store limit the disk sets', () => {
    const m = new StatusModel(options, T0);
    m.diskReading({ path: '/x', freeBytes: 1, totalBytes: 2 }, T0);
    m.receive(
      'bufferMetrics',
      bufferMetrics(T0, 10, {
        disk: { freeBytes: 4e9, totalBytes: 1.6e10 },
        effectiveLimitBytes: 3e9,
        diskBound: true,
      }),
      T0,
    );
    const s = m.snapshot(T0 + 1_000);
    expect(s.disk).toEqual({ source: 'buffer', path: null, freeBytes: 4e9, totalBytes: 1.6e10, asOfMs: T0 });
    expect(s.store).toMatchObject({ effectiveLimitBytes: 3e9, diskBound: true });
    const flat = new StatusModel(options, T0);
    flat.receive('bufferMetrics', bufferMetrics(T0, 10, { diskFreeBytes: 5e9, diskTotalBytes: 6e9 }), T0);
    expect(flat.snapshot(T0).disk).toMatchObject({ source: 'buffer', freeBytes: 5e9, totalBytes: 6e9 });
  });

  it('stays bounded and keeps its shape when documents are hostile', () => {
    const m = new StatusModel(options, T0);
    const long = 'x'.repeat(100_000);
    // Built once: the cost under test is the model's, not making the documents.
    const regionHealth = Object.fromEntries(
      Array.from({ length: 100 }, (_, k) => [`r${k}`, { status: long, latencyMs: k }]),
    );
    const byReason = Object.fromEntries(Array.from({ length: 500 }, (_, k) => [`${k}${long}`, k]));
    const started = Date.now();
    for (let i = 0; i < 2_000; i++) {
      const t = T0 + i * 1_000;
      m.receive('inferenceAlerts', { asset: `asset-${i}-${long}`, state: 'onset', atMs: t }, t);
      m.receive('bufferEvents', { type: 'eviction', atMs: t, report: { evictedRecords: i } }, t);
      m.receive(
        'replayStatus',
        {
          activeRegion: long,
          regionHealth,
          recentSwitches: [{ kind: 'failover', switchedAtMs: t, reason: long }],
          delivered: { a: { records: 'many' } },
        },
        t,
      );
      m.receive('bufferMetrics', { lanes: 'none', deadLettersByReason: byReason }, t);
      if (i % 100 === 0) m.snapshot(t);
    }
    // Work per document does not grow with what came before (a generous bound for a busy machine).
    expect(Date.now() - started).toBeLessThan(20_000);
    const s = m.snapshot(T0 + 2_000_000);
    expect(s.anomalies.assets.length).toBeLessThanOrEqual(200);
    expect(s.anomalies.recent.length).toBeLessThanOrEqual(50);
    expect(s.switches.length).toBeLessThanOrEqual(20);
    expect((s.store?.['events'] as unknown[]).length).toBeLessThanOrEqual(20);
    expect(s.replay?.regions.length).toBeLessThanOrEqual(16);
    expect(Object.keys(s.series.series).length).toBeLessThanOrEqual(16);
    expect(Object.keys(s.deadLetters['storedByReason'] as object).length).toBeLessThanOrEqual(64);
    expect(JSON.stringify(s).length).toBeLessThan(400_000);
    expect(s.backlog).toMatchObject({ alert: { depth: 0 }, telemetry: { depth: 0 } });
  });
});
