import { num, numOrNull, obj, text, type Doc } from './read';

/**
 * Inference's anomaly events (onset and recovery, per asset) as the page shows them: per asset whether
 * an alarm is on, its onsets in the last hour and its last event; and the newest events. Bounded: at
 * most `maxAssets` assets (the least recently active are forgotten first), `maxOnsetsPerAsset` onset
 * times each, `maxRecent` events.
 */
export interface AnomalyEventView {
  readonly asset: string;
  readonly state: 'onset' | 'recovery';
  readonly atMs: number;
  readonly receivedAtMs: number;
  readonly score: number | null;
  readonly threshold: number | null;
  /** The measurement that contributed most to the window that crossed. */
  readonly topContributor: string | null;
  /** Recovery only: how long the episode lasted. */
  readonly durationMs: number | null;
}

export interface AssetView {
  readonly asset: string;
  readonly active: boolean;
  readonly onsetsInWindow: number;
  readonly last: AnomalyEventView;
}

interface AssetState {
  active: boolean;
  onsets: number[];
  last: AnomalyEventView;
}

export interface AnomalyLimits {
  readonly maxAssets: number;
  readonly maxOnsetsPerAsset: number;
  readonly maxRecent: number;
}

export const DEFAULT_ANOMALY_LIMITS: AnomalyLimits = {
  maxAssets: 200,
  maxOnsetsPerAsset: 120,
  maxRecent: 50,
};

/** An anomaly event from its document, or undefined when it is not one. */
export function anomalyEvent(doc: Doc, receivedAtMs: number): AnomalyEventView | undefined {
  const asset = text(doc['asset'], 128) ?? text(doc['deviceId'], 128);
  const state = doc['state'];
  if (asset === undefined || (state !== 'onset' && state !== 'recovery')) return undefined;
  const contributors = Array.isArray(doc['contributors']) ? (doc['contributors'] as unknown[]) : [];
  return {
    asset,
    state,
    atMs: num(doc['atMs']) ?? receivedAtMs,
    receivedAtMs,
    score: numOrNull(doc['score']),
    threshold: numOrNull(doc['threshold']),
    topContributor: text(obj(contributors[0])?.['feature'], 64) ?? null,
    durationMs: numOrNull(doc['durationMs']),
  };
}

export class AnomalyBook {
  private readonly assets = new Map<string, AssetState>();
  private readonly recent: AnomalyEventView[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly limits: AnomalyLimits = DEFAULT_ANOMALY_LIMITS,
  ) {}

  add(event: AnomalyEventView): void {
    let state = this.assets.get(event.asset);
    if (state === undefined) {
      if (this.assets.size >= this.limits.maxAssets) {
        const quietest = [...this.assets].sort((a, b) => a[1].last.receivedAtMs - b[1].last.receivedAtMs)[0];
        if (quietest !== undefined) this.assets.delete(quietest[0]);
      }
      state = { active: false, onsets: [], last: event };
    } else {
      this.assets.delete(event.asset); // re-inserted: the map stays in order of activity
    }
    state.active = event.state === 'onset';
    state.last = event;
    if (event.state === 'onset') {
      state.onsets.push(event.receivedAtMs);
      if (state.onsets.length > this.limits.maxOnsetsPerAsset) state.onsets.shift();
    }
    this.assets.set(event.asset, state);
    this.recent.push(event);
    if (this.recent.length > this.limits.maxRecent) this.recent.shift();
  }

  /** Assets with an alarm on first, then by their last event, newest first. */
  assetsView(nowMs: number): AssetView[] {
    const from = nowMs - this.windowMs;
    return [...this.assets.entries()]
      .map(([asset, s]) => {
        while (s.onsets.length > 0 && (s.onsets[0] ?? 0) < from) s.onsets.shift();
        return { asset, active: s.active, onsetsInWindow: s.onsets.length, last: s.last };
      })
      .sort((a, b) => Number(b.active) - Number(a.active) || b.last.receivedAtMs - a.last.receivedAtMs);
  }

  /** Newest first. */
  recentView(): AnomalyEventView[] {
    return [...this.recent].reverse();
  }
}

/**
 * The assets with an alarm on now: for each asset, the newer of what its last event said and what
 * Inference's last metrics listed (`activeAlarms`, which also knows alarms raised before the page
 * started). Sorted by name.
 */
export function activeAlarmAssets(
  assets: readonly AssetView[],
  fromMetrics: { readonly assets: readonly string[]; readonly atMs: number } | null,
): string[] {
  const byEvent = new Map(assets.map((a) => [a.asset, a]));
  const listed = new Set(fromMetrics?.assets ?? []);
  const names = new Set([...byEvent.keys(), ...listed]);
  return [...names]
    .filter((name) => {
      const event = byEvent.get(name);
      const eventAtMs = event?.last.receivedAtMs ?? -Infinity;
      const metricsAtMs = fromMetrics?.atMs ?? -Infinity;
      return eventAtMs >= metricsAtMs ? event?.active === true : listed.has(name);
    })
    .sort();
}
