/** Time as a port, so cores can be tested with explicit time and shells with real time. */
export interface Clock {
  /** Wall-clock time in epoch milliseconds (record timestamps, liveness windows). */
  nowMs(): number;
  /** Monotonic milliseconds for measuring durations; unaffected by wall-clock steps. */
  monotonicMs(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

interface Sleeper {
  readonly wakeAtMs: number;
  readonly resolve: () => void;
}

/** A clock moved by hand. Sleeps resolve when `advance` passes their wake time. */
export class ManualClock implements Clock {
  private wallMs: number;
  private monoMs = 0;
  private sleepers: Sleeper[] = [];

  constructor(startMs = 0) {
    this.wallMs = startMs;
  }

  nowMs(): number {
    return this.wallMs;
  }

  monotonicMs(): number {
    return this.monoMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const sleeper: Sleeper = { wakeAtMs: this.monoMs + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }

  advance(ms: number): void {
    this.wallMs += ms;
    this.monoMs += ms;
    const due = this.sleepers.filter((s) => s.wakeAtMs <= this.monoMs);
    this.sleepers = this.sleepers.filter((s) => s.wakeAtMs > this.monoMs);
    for (const s of due) s.resolve();
  }
}
