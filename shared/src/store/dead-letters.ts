import type { StoreSettings } from './settings';
import type { Statements } from './statements';
import type { DeadLetter, DeadLetterInput } from './types';

/** Inside the caller's write transaction: keeps rejected input with bounded raw bytes, counted by reason. */
export function writeDeadLetters(
  stmt: Statements,
  limits: StoreSettings['deadLetters'],
  nowMs: number,
  entries: readonly DeadLetterInput[],
): void {
  const { maxRawBytes, maxEntries } = limits;
  for (const e of entries) {
    const raw = Buffer.from(e.raw.buffer, e.raw.byteOffset, Math.min(e.raw.byteLength, maxRawBytes));
    stmt.insertDeadLetter.run(
      nowMs,
      e.source.slice(0, 512),
      e.reason.slice(0, 64),
      e.detail.slice(0, 1024),
      Buffer.from(raw),
      e.raw.byteLength,
    );
    stmt.addCounter.run(`deadLetter:${e.reason.slice(0, 64)}`, 1);
  }
  stmt.addCounter.run('deadLetters', entries.length);
  const dropped = stmt.trimDeadLetters.run(maxEntries).changes;
  if (dropped > 0) stmt.addCounter.run('deadLettersDropped', dropped);
}

export function readDeadLetters(stmt: Statements, limit: number, afterId: number): DeadLetter[] {
  return stmt.listDeadLetters.all(afterId, limit).map((r) => ({
    id: r.id,
    atMs: r.at_ms,
    source: r.source,
    reason: r.reason,
    detail: r.detail,
    raw: r.raw,
    rawBytes: r.raw_bytes,
  }));
}
