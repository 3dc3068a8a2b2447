/**
 * A separate process working on a shared store file, for the crash and concurrency tests.
 * Usage: store-worker <mode> <dbPath> <name> [count]
 *   append    appends `count` batches, printing `A <firstSeq> <lastSeq> <firstN>` after each commit
 *   read      reads and acknowledges until the file `<dbPath>.done` exists and the store is empty,
 *             printing `K <seq>` per acknowledged record and `G <evicted>` per gap marker
 *   maintain  runs maintenance and metrics until `<dbPath>.done` exists (compaction included)
 * STORE_SETTINGS (JSON) sets the store settings; RECORD_AGE_MS makes appended records that old, so
 * that the maintainer compacts them.
 * Any error is printed as `ERR <code> <message>` and the process exits 1.
 */
import { existsSync } from 'node:fs';
import { isDrError } from '../../shared/src/errors';
import { GAP_MARKER_STREAM, SqliteRecordStore, storeSettingsSchema } from '../../shared/src/store';

const [mode, dbPath, nameArg, countText] = process.argv.slice(2);
if (mode === undefined || dbPath === undefined || nameArg === undefined)
  throw new Error('usage: mode dbPath name [count]');
const name: string = nameArg;
const count = Number(countText ?? '100');
const settings = storeSettingsSchema.parse(JSON.parse(process.env['STORE_SETTINGS'] ?? '{}'));
const store = SqliteRecordStore.open({ path: dbPath, gatewayId: 'gw-test', settings });
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const doneFile = `${dbPath}.done`;
const ageMs = Number(process.env['RECORD_AGE_MS'] ?? '0');
const pad = 'p'.repeat(160);

function appendLoop(): void {
  let n = 0;
  for (let b = 0; b < count; b++) {
    const size = 1 + ((b * 7919) % 40);
    const records = Array.from({ length: size }, (_, i) => ({
      stream: `s/${name}`,
      lane: 'telemetry' as const,
      deviceId: name,
      tsMs: Date.now() - ageMs,
      body: { writer: name, n: n + i, pad },
    }));
    const r = store.append(records);
    out(`A ${r.firstSeq} ${r.lastSeq} ${n}`);
    n += size;
  }
}

function readLoop(): void {
  const acked = new Set<number>();
  for (;;) {
    const finishing = existsSync(doneFile);
    const batch = store.nextBatch({ maxRecords: 64, maxBytes: 64 * 1024 });
    if (batch.length === 0) {
      if (finishing) return;
      continue;
    }
    for (const r of batch) {
      if (acked.has(r.seq)) throw new Error(`record ${r.id} delivered after its ack`);
    }
    // A record evicted while in flight is named by a gap marker; only what the ack deleted counts as delivered.
    const gone = new Set(store.ack(batch.map((r) => r.id)).notFound);
    for (const r of batch) {
      acked.add(r.seq);
      if (gone.has(r.id)) out(`X ${r.seq}`);
      else if (r.stream === GAP_MARKER_STREAM) out(`G ${Number(r.body['evictedRecords'])}`);
      else out(`K ${r.seq}`);
    }
  }
}

function maintainLoop(): void {
  while (!existsSync(doneFile)) {
    store.maintain();
    store.metrics();
  }
}

try {
  if (mode === 'append') appendLoop();
  else if (mode === 'read') readLoop();
  else if (mode === 'maintain') maintainLoop();
  else throw new Error(`unknown mode ${mode}`);
  store.close();
} catch (err) {
  out(`ERR ${isDrError(err) ? err.code : 'UNEXPECTED'} ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
