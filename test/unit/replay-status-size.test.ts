import { startFleet } from '../../components/replay/src/core/fleet';
import type { FleetState } from '../../components/replay/src/core/fleet-state';
import { statusDocument } from '../../components/replay/src/core/report';
import { encodeDocument, maxBinaryMessageBytes, TOPICS } from '../../shared/src/messages';
import { backlogBatches, down, play, plan, POLICY, tick, up, type Row } from '../support/fleet';

/**
 * Replay's local status goes out as one binary IPC message, which nucleus lite caps at one frame. A
 * large fleet at its most verbose (four regions with three drain links each, long reasons, many
 * switches, full counters) must still fit.
 */
describe('Replay status document', () => {
  it('fits one IPC message for four regions with drain links, long reasons and a switch history', () => {
    const names = ['eu-west-1', 'eu-central-1', 'us-east-1', 'ap-southeast-2'];
    const p = plan(
      names.map((name) => ({ name, drainLinks: 3 })),
      { health: { ...POLICY.health, probeIntervalMs: 1e9, failbackHoldMs: 0 } },
    );
    const reason = 'x'.repeat(400);
    const rows: Row[] = names.flatMap((n, i): Row[] => [[10 + i, up(n)]]);
    for (let round = 0; round < 30; round++) {
      const at = 1_000 * (round + 1);
      rows.push(
        [at, down(names[round % 2]!, reason)],
        [at + 1, up(names[round % 2]!)],
        [at + 2, tick(5_000_000)],
      );
    }
    rows.push([40_000, backlogBatches('b1', 'b2', 'b3')]);
    for (const [i, n] of names.slice(1).entries()) rows.push([40_002 + i, down(n, reason)]);
    for (let d = 1; d <= 3; d++) rows.push([40_001, up(`eu-west-1/drain-${d}`)]);
    let state: FleetState = play(startFleet(p, { pinnedRegion: null, paused: false }, 0), rows).state;
    state = {
      ...state,
      switches: state.switches.map((s) => ({ ...s, reason })),
      counters: new Map(
        names.map((n) => [
          n,
          {
            records: 9e12,
            batches: 9e12,
            payloadBytes: 9e15,
            refusedBatches: 9e12,
            failedBatches: 9e12,
            probes: 9e12,
            failedProbes: 9e12,
          },
        ]),
      ),
    };
    const doc = statusDocument(state, {
      thing: 'pump-station-0000000007',
      metrics: null,
      nowMs: 50_000,
      commands: { accepted: 123_456, refused: 7_890 },
      configuration: { validatedByNucleus: true, refused: 3, lastRefusal: reason },
    });
    expect(Object.keys(doc['links'] as object)).toHaveLength(7); // drain links run for the active region only
    expect(doc['regions']).toMatchObject({ 'us-east-1': 'down' });
    expect(encodeDocument(doc).length).toBeLessThanOrEqual(maxBinaryMessageBytes(TOPICS.replayStatus));
  });
});
