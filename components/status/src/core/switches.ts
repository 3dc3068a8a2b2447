import { num, numOrNull, obj, text } from './read';

/**
 * Region switches as Replay reports them. Its status document lists only its last few switches, and a
 * switch's timing completes later (the first PUBACK from the new region), so the page keeps its own
 * list, keyed by when and where the switch went, and updates an entry as later documents complete it.
 */
export interface SwitchView {
  readonly kind: string;
  readonly from: string | null;
  readonly to: string | null;
  readonly reason: string;
  readonly switchedAtMs: number;
  /** From the last good PUBACK of the old region to the judgement that it is down. */
  readonly detectionMs: number | null;
  /** From the switch to the first PUBACK of the new region. */
  readonly switchMs: number | null;
  /** The outage seen from the gateway: last good PUBACK of the old region to the first of the new one. */
  readonly outageMs: number | null;
  readonly firstAckMs: number | null;
}

export class SwitchLog {
  private readonly entries = new Map<string, SwitchView>();

  constructor(private readonly keep = 20) {}

  /** Takes `recentSwitches` from a Replay status document. */
  observe(recentSwitches: unknown): void {
    if (!Array.isArray(recentSwitches)) return;
    for (const raw of recentSwitches.slice(-10)) {
      const s = obj(raw);
      const switchedAtMs = num(s?.['switchedAtMs']);
      if (s === undefined || switchedAtMs === undefined) continue;
      const region = (v: unknown): string | null => text(v, 64) ?? null;
      const lastGoodMs = numOrNull(s['lastGoodMs']);
      const firstAckMs = numOrNull(s['firstAckMs']);
      const view: SwitchView = {
        kind: text(s['kind'], 32) ?? 'unknown',
        from: region(s['from']),
        to: region(s['to']),
        reason: text(s['reason']) ?? '',
        switchedAtMs,
        detectionMs: numOrNull(s['detectionMs']),
        switchMs: numOrNull(s['switchMs']),
        outageMs: lastGoodMs !== null && firstAckMs !== null ? firstAckMs - lastGoodMs : null,
        firstAckMs,
      };
      this.entries.set(`${view.kind}|${switchedAtMs}|${view.from ?? ''}|${view.to ?? ''}`, view);
    }
    if (this.entries.size <= this.keep) return;
    const newest = [...this.entries]
      .sort((a, b) => b[1].switchedAtMs - a[1].switchedAtMs)
      .slice(0, this.keep);
    this.entries.clear();
    for (const [k, v] of newest) this.entries.set(k, v);
  }

  /** Newest first. */
  list(): SwitchView[] {
    return [...this.entries.values()].sort((a, b) => b.switchedAtMs - a.switchedAtMs);
  }
}
