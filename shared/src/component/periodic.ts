import type { Clock } from '../clock';

/**
 * Runs `tick` every `intervalMs()` until the signal aborts; the interval is read each round so a new
 * configuration takes effect at the next tick. A loop that awaits the clock, never setInterval(async).
 */
export async function periodic(
  clock: Clock,
  intervalMs: () => number,
  tick: () => Promise<void> | void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(intervalMs(), signal);
    } catch {
      return; // aborted
    }
    await tick();
  }
}
