import { join } from 'node:path';
import { liveBatchRecords } from '../../shared/src/messages';
import { eventually, type IpcClient } from '../support/ipc';
import { ingestGateway, type LocalGateway } from '../support/launch';
import { readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';

const BUFFER = 'com.edgedr.Buffer';
const INGEST = 'com.edgedr.Ingest';
const FLUSH_MS = 50;
/** How late a delivery through the host may arrive on this busy two-core machine. */
const DELIVERY_SLACK_MS = 500;

describe('Ingest killed under load', () => {
  let gw: LocalGateway;
  let sensor: IpcClient | undefined;
  afterEach(async () => {
    await sensor?.close();
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-kill-');

  it('keeps every committed record exactly once; what is lost was sent within the last flush interval', async () => {
    ({ gw, sensor } = await ingestGateway(tempDir(), { flushIntervalMs: FLUSH_MS }));
    const client = sensor;

    const committed = new Set<number>();
    gw.host.subscribe('edgedr/ingest/live', (_t, payload) => {
      for (const r of liveBatchRecords(payload)) committed.add(Number(r.body['n']));
    });

    const sentAt: number[] = [];
    let n = 0;
    let killed = false;
    const load = (async () => {
      while (!killed) {
        await Promise.all(
          Array.from({ length: 10 }, () => {
            const seq = n++;
            sentAt[seq] = Date.now();
            return client.publishToTopic({
              topic: 'sensors/pump-1/load',
              publishMessage: { jsonMessage: { message: { ts: Date.now(), n: seq } } },
            });
          }),
        );
      }
    })();
    await eventually(() => committed.size > 2_000, 20_000, 'load under way');
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    const killAt = Date.now();
    gw.launcher.signal(INGEST, 'SIGKILL');
    killed = true;
    await load;
    const sentBeforeKill = n;

    await gw.launcher.waitForState(INGEST, 'ERRORED', 10_000);
    await gw.launcher.waitForState(INGEST, 'RUNNING', 20_000);
    // After the restart it ingests again.
    for (let i = 0; i < 50; i++) {
      const seq = n++;
      await client.publishToTopic({
        topic: 'sensors/pump-1/load',
        publishMessage: { jsonMessage: { message: { ts: Date.now(), n: seq } } },
      });
    }
    const storePath = join(gw.launcher.workPath(BUFFER), 'store', 'records.db');
    const storedNs = (): number[] =>
      readStore(storePath).records.map((r) => (JSON.parse(r.body) as { n: number }).n);
    await eventually(
      () => storedNs().filter((x) => x >= sentBeforeKill).length === 50,
      15_000,
      'post-restart records',
    );

    const stored = storedNs();
    const storedSet = new Set(stored);
    expect(storedSet.size).toBe(stored.length); // exactly once
    for (const c of committed) expect(storedSet.has(c)).toBe(true); // every committed batch survived
    const lost = Array.from({ length: sentBeforeKill }, (_, i) => i).filter((i) => !storedSet.has(i));
    for (const i of lost)
      expect(sentAt[i] ?? 0).toBeGreaterThanOrEqual(killAt - FLUSH_MS - DELIVERY_SLACK_MS);
  }, 120_000);
});
