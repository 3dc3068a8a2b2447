import type { FleetRow, SendResult, ThingStatus } from './operator';
import type { Reported } from './messages';

/** What a person reads; --json prints the structures themselves. */
const time = (ms: number | null | undefined): string =>
  ms === null || ms === undefined
    ? '—'
    : new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');

export function age(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function backlog(r: Reported['backlog'] | null | undefined): string {
  if (r === null || r === undefined) return 'backlog unknown';
  const n = (x: number): string => x.toLocaleString('en-US');
  return `backlog ${n(r.alert)} alert / ${n(r.live)} live / ${n(r.backlog)} older`;
}

function failover(f: Reported['lastFailover'] | null | undefined): string {
  if (f === null || f === undefined) return 'no failover yet';
  return `last ${f.kind} ${f.from ?? '—'} → ${f.to ?? 'none'} at ${time(f.atMs)} (${f.reason})`;
}

export function renderStatus(s: ThingStatus): string {
  const lines = [
    `${s.thing}: ${s.onlineIn.length > 0 ? `online in ${s.onlineIn.join(', ')}` : 'not online in any region'}`,
  ];
  for (const v of s.regions) {
    const presence =
      v.unreachable !== null
        ? `unreachable: ${v.unreachable}`
        : v.presence === null
          ? 'no presence'
          : `${v.presence.state} since ${time(v.presence.atMs)}`;
    const shadow =
      v.shadow === null
        ? (v.shadowProblem ?? 'no shadow')
        : `shadow v${v.shadow.version ?? '?'}: active ${v.shadow.reported.activeRegion ?? 'none'}, updated ${time(v.shadow.reported.updatedAtMs)}`;
    lines.push(`  ${v.region.padEnd(16)} ${presence}; ${shadow}`);
  }
  const r = s.reported;
  if (r === null) lines.push('  DR shadow: none in any region');
  else
    lines.push(
      `  DR state (from ${s.shadowRegion}): active ${r.activeRegion ?? 'none'}${r.pinnedRegion ? `, pinned ${r.pinnedRegion}` : ''}${r.paused === true ? ', PAUSED' : ''}; ` +
        `${backlog(r.backlog)}, oldest ${age(r.oldestAgeMs)}; ${failover(r.lastFailover)}`,
      ...Object.entries(r.regions ?? {}).map(([name, health]) => `    ${name}: ${health}`),
    );
  return lines.join('\n');
}

export function renderSend(r: SendResult): string {
  if (r.outcome === 'not-online') return `not sent: ${r.reason}`;
  const head = `${String(r.command['type'])} ${String(r.command['id'])} to ${r.thing} via ${r.region}`;
  if (r.reply === null)
    return `${head}: no reply within the timeout (the gateway may still run it until it expires)`;
  const body =
    r.reply.status === 'done'
      ? `done: ${JSON.stringify(r.reply.result ?? null, null, 2)}`
      : `${r.reply.status} (${r.reply.reason ?? 'no reason'}): ${r.reply.detail ?? ''}`;
  return `${head}: ${body}\n  (reply from ${r.reply.region ?? r.region} in ${r.elapsedMs} ms)`;
}

export function renderFleet(rows: readonly FleetRow[]): string {
  if (rows.length === 0) return 'no gateways found (no retained presence, no groups in the config)';
  const header = ['thing', 'online in', 'active', 'backlog (alert/live/older)', 'oldest', 'last failover'];
  const table = rows.map((r) => [
    r.thing,
    r.onlineIn.join(',') || '—',
    r.activeRegion ?? '—',
    r.backlog === null ? '—' : `${r.backlog.alert}/${r.backlog.live}/${r.backlog.backlog}`,
    age(r.oldestAgeMs),
    r.lastFailover === null
      ? '—'
      : `${r.lastFailover.kind} ${r.lastFailover.from ?? '—'}→${r.lastFailover.to ?? 'none'} ${time(r.lastFailover.atMs)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  return [header, ...table]
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
