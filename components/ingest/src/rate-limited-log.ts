import type { Logger } from '../../../shared/src/logger';

/** One log line per key per interval, with one sample and how many were suppressed. */
export class RateLimitedLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  warn(key: string, nowMs: number, sample: Record<string, unknown>, message: string): void {
    const entry = this.last.get(key);
    if (entry !== undefined && nowMs - entry.atMs < this.intervalMs) {
      entry.suppressed += 1;
      return;
    }
    // `reason`, not `key`: the logger redacts fields named key (private keys must never be logged).
    this.logger.warn({ reason: key, suppressedSinceLast: entry?.suppressed ?? 0, sample }, message);
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
  }
}
