/**
 * The flight ledger: every envelope published and not yet settled, and every send of it (an envelope
 * can be on its way to two regions when it was hedged or resent after a failover: same batch id, same
 * store unit). Pure data and functions; what a PUBACK or a failure settles is decided here and comes
 * back as a verdict the fleet turns into store effects.
 *
 * - The first successful PUBACK of any send deletes the records (ack). A later one is a duplicate the
 *   cloud de-duplicates by id; it is counted.
 * - A failed send changes nothing while another send of the envelope is pending; when none is left
 *   and nothing acknowledged it, the records go back to the store (release) to be read again.
 * - A send counts against its link's in-flight window until its own outcome arrives, even when another
 *   send already settled the envelope: the client still holds it.
 */

export type LinkKey = string;

export interface Send {
  readonly id: number;
  readonly batchId: string;
  readonly link: LinkKey;
  readonly region: string;
  readonly sentAtMs: number;
  /** Why this send exists: the first one, a hedge of a late one, or a resend after a failover. */
  readonly kind: 'first' | 'hedge' | 'failover';
}

export interface Flight {
  readonly batchId: string;
  /** The store's unit for the envelope: what its acknowledgement deletes, or its release gives back. */
  readonly unitId: string;
  /** Records the envelope carries. */
  readonly records: number;
  readonly plainBytes: number;
  readonly payloadBytes: number;
  readonly firstSentAtMs: number;
  /** Sends whose outcome has not arrived. */
  readonly pending: readonly number[];
  /** Sends made in all (2 or more: the envelope went to more than one region). */
  readonly sends: number;
  /** The region whose PUBACK deleted the records, once one did. */
  readonly ackedBy: string | null;
  /** Successful PUBACKs after the first (copies the cloud received twice, known to the gateway). */
  readonly extraAcks: number;
  /**
   * Given back to the store (every send failed or was abandoned). A late PUBACK is still passed on;
   * the store has forgotten the unit by then, so its records go again and the cloud de-duplicates them.
   */
  readonly released: boolean;
}

export interface Ledger {
  readonly flights: ReadonlyMap<string, Flight>;
  readonly sends: ReadonlyMap<number, Send>;
  readonly nextSendId: number;
}

export const EMPTY_LEDGER: Ledger = { flights: new Map(), sends: new Map(), nextSendId: 1 };

export interface BatchInfo {
  readonly batchId: string;
  readonly unitId: string;
  readonly records: number;
  readonly plainBytes: number;
  readonly payloadBytes: number;
}

function withFlight(l: Ledger, f: Flight): Map<string, Flight> {
  return new Map(l.flights).set(f.batchId, f);
}

/** Records a send of an envelope (a new flight for its first send). */
export function addSend(
  l: Ledger,
  batch: BatchInfo,
  link: LinkKey,
  region: string,
  kind: Send['kind'],
  nowMs: number,
): { ledger: Ledger; send: Send } {
  const send: Send = { id: l.nextSendId, batchId: batch.batchId, link, region, sentAtMs: nowMs, kind };
  const old = l.flights.get(batch.batchId);
  const flight: Flight =
    old === undefined
      ? {
          ...batch,
          firstSentAtMs: nowMs,
          pending: [send.id],
          sends: 1,
          ackedBy: null,
          extraAcks: 0,
          released: false,
        }
      : { ...old, pending: [...old.pending, send.id], sends: old.sends + 1 };
  return {
    ledger: {
      flights: withFlight(l, flight),
      sends: new Map(l.sends).set(send.id, send),
      nextSendId: l.nextSendId + 1,
    },
    send,
  };
}

export type Verdict =
  /** This PUBACK settled the envelope: delete its records. */
  | {
      readonly kind: 'delivered';
      readonly flight: Flight;
      readonly send: Send;
      readonly afterRelease: boolean;
    }
  /** Another send already settled it: the cloud has it twice. */
  | { readonly kind: 'duplicate'; readonly flight: Flight; readonly send: Send }
  /** No send of the envelope is left and none succeeded: give its records back to the store. */
  | { readonly kind: 'release'; readonly flight: Flight; readonly send: Send }
  /** Another send of the envelope is still pending, or it was settled already: nothing to do. */
  | { readonly kind: 'none'; readonly flight: Flight; readonly send: Send };

export interface Settlement {
  readonly ledger: Ledger;
  readonly verdict: Verdict | null;
  /** The envelope is no longer needed (no send pending): its payload can be dropped. */
  readonly closed: boolean;
}

function finish(l: Ledger, send: Send, flight: Flight): Omit<Settlement, 'verdict'> {
  const sends = new Map(l.sends);
  sends.delete(send.id);
  const flights = new Map(l.flights);
  const closed = flight.pending.length === 0;
  if (closed) flights.delete(flight.batchId);
  else flights.set(flight.batchId, flight);
  return { ledger: { ...l, flights, sends }, closed };
}

/** The outcome of one send: a PUBACK with `success`, or a refusal, a timeout or a lost connection. */
export function settle(l: Ledger, sendId: number, success: boolean): Settlement {
  const send = l.sends.get(sendId);
  const old = send === undefined ? undefined : l.flights.get(send.batchId);
  if (send === undefined || old === undefined) return { ledger: l, verdict: null, closed: false };
  const pending = old.pending.filter((id) => id !== sendId);
  if (success) {
    if (old.ackedBy !== null) {
      const flight = { ...old, pending, extraAcks: old.extraAcks + 1 };
      return { ...finish(l, send, flight), verdict: { kind: 'duplicate', flight, send } };
    }
    const flight = { ...old, pending, ackedBy: send.region };
    return {
      ...finish(l, send, flight),
      verdict: { kind: 'delivered', flight, send, afterRelease: old.released },
    };
  }
  if (old.ackedBy === null && !old.released && pending.length === 0) {
    const flight = { ...old, pending, released: true };
    return { ...finish(l, send, flight), verdict: { kind: 'release', flight, send } };
  }
  const flight = { ...old, pending };
  return { ...finish(l, send, flight), verdict: { kind: 'none', flight, send } };
}

/** Marks a flight released without a send outcome (its only sends are on a region judged lost). */
export function markReleased(l: Ledger, batchId: string): Ledger {
  const f = l.flights.get(batchId);
  if (f === undefined || f.released) return l;
  return { ...l, flights: withFlight(l, { ...f, released: true }) };
}

/** Sends still waiting for an outcome on one link. */
export function pendingOn(l: Ledger, link: LinkKey): number {
  let n = 0;
  for (const s of l.sends.values()) if (s.link === link) n += 1;
  return n;
}

/** Pending sends of a given kind (hedges are bounded). */
export function pendingOfKind(l: Ledger, kind: Send['kind']): number {
  let n = 0;
  for (const s of l.sends.values()) if (s.kind === kind) n += 1;
  return n;
}

/** Flights not yet settled (no PUBACK, not released) whose every pending send goes to `region`. */
export function unsettledOnlyOn(l: Ledger, region: string): Flight[] {
  const out: Flight[] = [];
  for (const f of l.flights.values()) {
    if (f.ackedBy !== null || f.released || f.pending.length === 0) continue;
    if (f.pending.every((id) => l.sends.get(id)?.region === region)) out.push(f);
  }
  return out.sort((a, b) => a.firstSentAtMs - b.firstSentAtMs);
}

export function sendsOf(l: Ledger, f: Flight): Send[] {
  return f.pending.map((id) => l.sends.get(id)).filter((s): s is Send => s !== undefined);
}
