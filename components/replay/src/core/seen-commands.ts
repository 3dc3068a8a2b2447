/**
 * The command ids a gateway has accepted, kept so that a command cannot run twice, across restarts too
 * (the shell saves this in the work directory before running a command). Bounded: an entry is kept
 * only as long as its command could still pass the freshness check (issued within `maxAgeMs`), and at
 * most `capacity` entries. Whatever is forgotten raises a floor: a command issued at or before it is
 * refused as stale even if the clock has stepped back, so forgetting never reopens a replay window.
 */

export interface SeenEntry {
  readonly id: string;
  readonly issuedAtMs: number;
}

export interface SeenCommands {
  readonly entries: readonly SeenEntry[];
  /** Commands issued at or before this are refused: their ids may have been forgotten. */
  readonly floorMs: number;
}

export const NOTHING_SEEN: SeenCommands = { entries: [], floorMs: 0 };

export const SEEN_COMMANDS_CAPACITY = 1_000;

export function hasSeen(s: SeenCommands, id: string): boolean {
  return s.entries.some((e) => e.id === id);
}

export function remember(
  s: SeenCommands,
  entry: SeenEntry,
  nowMs: number,
  maxAgeMs: number,
  capacity: number = SEEN_COMMANDS_CAPACITY,
): SeenCommands {
  let floorMs = s.floorMs;
  const kept: SeenEntry[] = [];
  for (const e of [...s.entries, entry]) {
    if (e.issuedAtMs < nowMs - maxAgeMs) floorMs = Math.max(floorMs, e.issuedAtMs);
    else kept.push(e);
  }
  kept.sort((a, b) => a.issuedAtMs - b.issuedAtMs);
  while (kept.length > capacity) {
    const oldest = kept.shift();
    if (oldest !== undefined) floorMs = Math.max(floorMs, oldest.issuedAtMs);
  }
  return { entries: kept, floorMs };
}
