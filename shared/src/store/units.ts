import { ackInBlocks, deleteBlock } from './blocks';
import type { UnitTarget } from './drain';
import { counterName, type Statements } from './statements';
import type { UnitAckResult } from './types';

/** Inside a write transaction: deletes records by sequence, rows or inside blocks; returns those missing. */
export function deleteSeqs(stmt: Statements, seqs: readonly number[]): number[] {
  const deleted = stmt.deleteRecords.all(JSON.stringify(seqs));
  const counts = [0, 0];
  const bytes = [0, 0];
  const gone = new Set<number>();
  for (const [seq, lane, size] of deleted) {
    gone.add(seq);
    counts[lane] = (counts[lane] ?? 0) + 1;
    bytes[lane] = (bytes[lane] ?? 0) + size;
  }
  counts.forEach((n, lane) => {
    if (n === 0) return;
    stmt.addCounter.run(counterName.depth(lane), -n);
    stmt.addCounter.run(counterName.bytes(lane), -(bytes[lane] ?? 0));
  });
  const rest = seqs.filter((s) => !gone.has(s));
  return rest.length === 0 ? [] : ackInBlocks(stmt, rest);
}

interface Unit {
  readonly target: UnitTarget;
  readonly count: number;
}

/** Units given back (or whose lease expired) that a late acknowledgement can still settle, newest kept. */
export const RELEASED_UNITS_KEPT = 256;

/**
 * The ready envelopes this handle has handed out, by unit id, and their leases (in this connection's
 * memory, like record leases: a restarted reader gets them again). A unit given back is remembered for a
 * while: a PUBACK that comes after all (the region was judged lost, the publish was not) still deletes
 * what it carried, rather than leaving it to be sent again.
 */
export class EnvelopeUnits {
  private readonly units = new Map<string, Unit>();
  private readonly released = new Map<string, Unit>();
  private seq = 0;

  constructor(
    private readonly stmt: Statements,
    private readonly epoch: string,
    private readonly leaseMs: number,
  ) {}

  /** Leases a unit until nowMs + leaseMs and names it. */
  register(target: UnitTarget, nowMs: number): string {
    this.seq += 1;
    const unitId = `${this.epoch}:${target.kind === 'block' ? 'b' : 'r'}${this.seq}`;
    if (target.kind === 'block') this.stmt.leaseBlock.run(target.block.id, nowMs + this.leaseMs);
    else this.stmt.upsertLeases.run(nowMs + this.leaseMs, JSON.stringify(target.seqs));
    this.units.set(unitId, {
      target,
      count: target.kind === 'block' ? target.block.live : target.seqs.length,
    });
    return unitId;
  }

  /** Block units whose lease expired (the caller expired the leases themselves) are given back. */
  expire(): void {
    for (const [id, unit] of this.units) {
      if (unit.target.kind === 'block' && (this.stmt.blockLeased.get(unit.target.block.id) ?? 0) === 0)
        this.giveBack(id, unit);
    }
  }

  private giveBack(unitId: string, unit: Unit): void {
    this.units.delete(unitId);
    this.released.set(unitId, unit);
    if (this.released.size > RELEASED_UNITS_KEPT) this.released.delete(this.released.keys().next().value!);
  }

  /**
   * A late acknowledgement of a unit given back: deletes what of it is still stored (it may have been
   * handed out again since, or acknowledged through another unit). Returns how many records it deleted.
   */
  private ackReleased(unit: Unit): number {
    if (unit.target.kind === 'records') {
      const gone = deleteSeqs(this.stmt, unit.target.seqs);
      this.stmt.deleteLeases.run(JSON.stringify(unit.target.seqs));
      return unit.count - gone.length;
    }
    const block = this.stmt.block.get(unit.target.block.id);
    if (block === undefined) return 0;
    deleteBlock(this.stmt, block);
    return block.live;
  }

  /** Inside a write transaction: deletes what the units carried, a block as a whole. */
  ack(unitIds: readonly string[]): UnitAckResult {
    let acknowledged = 0;
    let missing = 0;
    const unknownUnits: string[] = [];
    for (const unitId of unitIds) {
      const late = this.released.get(unitId);
      if (late !== undefined) {
        this.released.delete(unitId);
        acknowledged += this.ackReleased(late);
        continue;
      }
      const unit = this.units.get(unitId);
      if (unit === undefined) {
        unknownUnits.push(unitId);
        continue;
      }
      this.units.delete(unitId);
      if (unit.target.kind === 'records') {
        const gone = deleteSeqs(this.stmt, unit.target.seqs);
        this.stmt.deleteLeases.run(JSON.stringify(unit.target.seqs));
        acknowledged += unit.count - gone.length;
        missing += gone.length;
        continue;
      }
      this.stmt.releaseBlock.run(unit.target.block.id);
      const block = this.stmt.block.get(unit.target.block.id);
      if (block === undefined) {
        missing += unit.count; // evicted while in flight: named by a gap marker
        continue;
      }
      deleteBlock(this.stmt, block);
      acknowledged += block.live;
    }
    if (acknowledged > 0) this.stmt.addCounter.run('acknowledged', acknowledged);
    return { acknowledged, missing, unknownUnits };
  }

  release(unitIds: readonly string[]): void {
    for (const unitId of unitIds) {
      const unit = this.units.get(unitId);
      if (unit === undefined) continue;
      this.giveBack(unitId, unit);
      if (unit.target.kind === 'block') this.stmt.releaseBlock.run(unit.target.block.id);
      else this.stmt.deleteLeases.run(JSON.stringify(unit.target.seqs));
    }
  }
}
