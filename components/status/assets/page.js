'use strict';
/* The status page's script: loads the snapshot from api/status, then follows api/events (Server-Sent
   Events) for live updates, falling back to polling when the stream cannot be held. Everything from the
   server is written with textContent or SVG attributes, never parsed as HTML. */
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const CHARTS = [
    {
      title: 'Backlog (records)',
      lines: [
        ['backlogTelemetry', 'telemetry'],
        ['backlogAlert', 'alert'],
      ],
    },
    {
      title: 'Records per second',
      lines: [
        ['ingestPerSec', 'stored'],
        ['drainPerSec', 'delivered'],
      ],
    },
    { title: 'Store in use (MB)', lines: [['storeUsedMb', 'used']] },
    { title: 'Free disk (MB)', lines: [['diskFreeMb', 'free']] },
    { title: 'PUBACK latency (ms)', prefix: 'latencyMs:' },
    { title: 'Anomaly onsets per point', lines: [['anomalyOnsets', 'onsets']] },
  ];
  let snapshot = null;
  let lastUpdate = 0;
  let pushMs = 2000;
  let historyMs = 3600000;
  let bucketMs = 10000;
  /** name -> Map(bucket start ms -> value) */
  const series = new Map();
  let pollTimer = null;

  const $ = (id) => document.getElementById(id);

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function row(cells, cls) {
    const tr = el('tr', null, cls);
    for (const c of cells) {
      if (c instanceof Node) {
        const td = el('td');
        td.appendChild(c);
        tr.appendChild(td);
      } else if (c && typeof c === 'object') {
        tr.appendChild(el('td', c.text, c.cls));
      } else tr.appendChild(el('td', c));
    }
    return tr;
  }

  function fill(tableId, rows, empty) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...rows);
    if (rows.length === 0 && empty) {
      const tr = row([empty]);
      tr.firstChild.colSpan = $(tableId).tHead.rows[0].cells.length;
      tr.firstChild.className = 'note';
      body.appendChild(tr);
    }
  }

  function badge(text, cls) {
    return el('span', text, `state ${cls || text}`);
  }

  function age(ms) {
    if (ms === null || ms === undefined) return '–';
    const s = Math.max(0, ms) / 1000;
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
    return `${Math.round(s / 86400)} d`;
  }

  function ms(x) {
    return x === null || x === undefined ? '–' : age(x);
  }

  function num(x, digits) {
    if (x === null || x === undefined) return '–';
    return Number(x).toLocaleString('en-US', { maximumFractionDigits: digits || 0 });
  }

  function bytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = n;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i += 1;
    }
    return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
  }

  function clock(t) {
    return t ? new Date(t).toLocaleTimeString() : '–';
  }

  function asOf(id, part) {
    const e = $(id);
    if (!part) {
      e.textContent = 'no report yet';
      e.className = 'asof';
      return;
    }
    e.textContent = part.stale ? `as of ${clock(part.asOfMs)}, not current` : `as of ${clock(part.asOfMs)}`;
    e.className = part.stale ? 'asof stale' : 'asof';
  }

  // ---- panels ------------------------------------------------------------------------------------

  function renderComponents(s) {
    fill(
      'components',
      s.components.map((c) => {
        const cfg = c.configuration;
        const config = !cfg
          ? '–'
          : cfg.runningLastGood
            ? `refused ${cfg.refused}: running the last good one (${cfg.lastRefusal ? cfg.lastRefusal.problems : ''})`
            : cfg.refused > 0
              ? `ok (${cfg.refused} refused earlier)`
              : 'ok';
        const tr = row([
          c.name.replace('com.edgedr.', ''),
          badge(c.state),
          c.lastHeardMs === null ? c.detail : `${age(s.atMs - c.lastHeardMs)} ago`,
          `${age(c.intervalMs)} (${c.intervalSource})`,
          config,
        ]);
        tr.dataset.component = c.name;
        tr.dataset.state = c.state;
        return tr;
      }),
    );
  }

  function renderRegions(s) {
    const r = s.replay;
    asOf('regions-asof', r);
    $('active-region').textContent = r ? (r.activeRegion || 'none') + (r.stale ? ' (not current)' : '') : '–';
    if (!r) {
      fill('regions', [], 'Replay has not reported yet');
      $('replay-flags').textContent = '';
      return;
    }
    fill(
      'regions',
      r.regions.map((g) => {
        const tr = row(
          [
            g.name,
            badge(g.status),
            g.connected ? 'yes' : 'no',
            { text: g.latencyMs === null ? '–' : `${num(g.latencyMs, 1)} ms`, cls: 'num' },
            g.lastSuccessAgeMs === null ? '–' : `${age(g.lastSuccessAgeMs)} ago`,
            { text: num(g.deliveredRecords), cls: 'num' },
            { text: `${num(s.rates.drainPerRegion[g.name], 1)}/s`, cls: 'num' },
            g.reason || '',
          ],
          g.active ? 'active' : '',
        );
        tr.dataset.region = g.name;
        tr.dataset.status = g.status;
        return tr;
      }),
      'no regions configured: records stay in the store',
    );
    const flags = [];
    if (r.pinnedRegion) flags.push(`pinned to ${r.pinnedRegion}`);
    if (r.paused) flags.push('paused by an operator');
    if (r.inFlightBatches !== null) flags.push(`${r.inFlightBatches} batches in flight`);
    if (r.resentRecords) flags.push(`${num(r.resentRecords)} records resent after failovers`);
    $('replay-flags').textContent = flags.join(' · ');
  }

  function renderBacklog(s) {
    const b = s.backlog;
    asOf('backlog-asof', b);
    const rates = s.rates;
    // With no region active nothing drains, whatever the average over the last window still says.
    const noRegion = s.replay !== null && !s.replay.stale && s.replay.activeRegion === null;
    $('drain-rate').textContent = noRegion
      ? 'none (no region up)'
      : rates.drainRecordsPerSec === null
        ? '–'
        : `${num(rates.drainRecordsPerSec, 1)}/s`;
    $('rates').textContent =
      `delivered upstream ${num(rates.drainRecordsPerSec, 1)} records/s · stored ${num(rates.ingestRecordsPerSec, 1)} readings/s (last ${age(rates.windowMs)})`;
    if (!b) {
      $('backlog-total').textContent = '–';
      fill('backlog', [], 'Buffer has not reported yet');
      return;
    }
    $('backlog-total').textContent = num(b.alert.depth + b.telemetry.depth);
    const rows = [
      row(['alert', { text: num(b.alert.depth), cls: 'num' }, bytes(b.alert.bytes), ms(b.alert.oldestAgeMs)]),
      row([
        'telemetry',
        { text: num(b.telemetry.depth), cls: 'num' },
        bytes(b.telemetry.bytes),
        ms(b.telemetry.oldestAgeMs),
      ]),
    ];
    if (b.liveTelemetry !== null)
      rows.push(
        row([
          '  of which live / backlog',
          { text: `${num(b.liveTelemetry)} / ${num(b.backlogTelemetry)}`, cls: 'num' },
          '',
          '',
        ]),
      );
    fill('backlog', rows);
  }

  function renderSwitches(s) {
    fill(
      'switches',
      s.switches.map((w) => {
        const tr = row([
          clock(w.switchedAtMs),
          badge(w.kind, w.kind === 'failover' || w.kind === 'all-down' ? 'down' : 'healthy'),
          `${w.from || 'none'} → ${w.to || 'none'}`,
          ms(w.detectionMs),
          ms(w.switchMs),
          ms(w.outageMs),
          w.reason,
        ]);
        tr.dataset.kind = w.kind;
        tr.dataset.to = w.to || '';
        return tr;
      }),
      'no switch since the page started',
    );
  }

  function renderAnomalies(s) {
    const a = s.anomalies;
    const inf = a.inference;
    asOf('inference-asof', inf);
    const alarms = new Set(a.activeAlarms);
    $('alarm-count').textContent = String(alarms.size);
    const shown = a.assets.slice(0, 12);
    const rows = shown.map((x) => {
      const tr = row([
        x.asset,
        badge(alarms.has(x.asset) ? 'alarm' : 'quiet'),
        { text: num(x.onsetsInWindow), cls: 'num' },
        `${x.last.state} at ${clock(x.last.atMs)}`,
        x.last.score === null ? '–' : `${num(x.last.score, 2)} / ${num(x.last.threshold, 2)}`,
        x.last.topContributor || '–',
      ]);
      tr.dataset.asset = x.asset;
      return tr;
    });
    // Alarms raised before the page started are known from Inference's metrics only.
    for (const name of a.activeAlarms)
      if (!shown.some((x) => x.asset === name))
        rows.unshift(row([name, badge('alarm'), '–', 'on before the page started', '–', '–']));
    fill('assets', rows, 'no anomaly since the page started');
    const notes = [];
    if (a.assets.length > shown.length)
      notes.push(`${a.assets.length - shown.length} more assets with events`);
    if (inf) {
      notes.push(`${num(inf.assets)} assets analysed, ${num(inf.windowsScored)} windows scored`);
      const cal = Object.entries(inf.calibrating || {});
      if (cal.length > 0) notes.push(`calibrating ${cal.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (inf.quietUntilCalibrated) notes.push('alarms held back until the first calibration');
    }
    $('inference-note').textContent = notes.join(' · ');
  }

  function renderDeadLetters(s) {
    const d = s.deadLetters;
    const reasons = new Set([...Object.keys(d.storedByReason), ...Object.keys(d.ingestRejected)]);
    fill(
      'dead-letters',
      [...reasons]
        .sort()
        .map((r) =>
          row([
            r,
            { text: num(d.storedByReason[r] ?? 0), cls: 'num' },
            { text: num(d.ingestRejected[r] ?? 0), cls: 'num' },
          ]),
        ),
      'none',
    );
    const notes = [];
    if (d.stored !== null) notes.push(`${num(d.stored)} kept of ${num(d.total)} in all`);
    if (d.droppedOldest) notes.push(`${num(d.droppedOldest)} oldest dropped past the cap`);
    if (d.storeFailures) notes.push(`${num(d.storeFailures)} readings the store refused after retries`);
    if (d.liveBatchFailures)
      notes.push(`${num(d.liveBatchFailures)} live batches not delivered to Inference`);
    $('dead-letters-note').textContent = notes.join(' · ');
  }

  function setBar(id, share) {
    const bar = $(id);
    const pct = Math.max(0, Math.min(100, share * 100));
    bar.style.width = `${pct.toFixed(1)}%`;
    bar.className = pct >= 90 ? 'high' : '';
  }

  function renderStore(s) {
    const st = s.store;
    asOf('store-asof', st);
    if (st) {
      const limit = st.effectiveLimitBytes || st.maxStoreBytes;
      setBar('quota-bar', limit ? st.usedBytes / limit : 0);
      const parts = [`store ${bytes(st.usedBytes)} of ${bytes(limit)} quota`];
      if (st.effectiveLimitBytes && st.effectiveLimitBytes < st.maxStoreBytes)
        parts.push(`(the disk limits it; configured ${bytes(st.maxStoreBytes)})`);
      parts.push(`· file ${bytes(st.fileBytes)}, WAL ${bytes(st.walBytes)}`);
      parts.push(`· ${num(st.evictedRecordsTotal)} records evicted in ${num(st.evictionRoundsTotal)} rounds`);
      $('quota-text').textContent = parts.join(' ');
    } else $('quota-text').textContent = 'Buffer has not reported yet';
    const disk = s.disk;
    if (disk) {
      setBar('disk-bar', disk.totalBytes ? 1 - disk.freeBytes / disk.totalBytes : 0);
      $('disk-text').textContent =
        `disk: ${bytes(disk.freeBytes)} free of ${bytes(disk.totalBytes)}` +
        (disk.path ? ` (${disk.path})` : ' (reported by Buffer)');
    } else $('disk-text').textContent = 'disk: not measured yet';
    fill(
      'store-events',
      (st ? st.events : []).map((e) =>
        row([
          clock(e.atMs),
          e.type,
          e.type === 'eviction'
            ? `${num(e.evictedRecords)} records evicted (${clock(e.fromTsMs)} – ${clock(e.toTsMs)}), named by a gap marker`
            : `${e.code || ''} ${e.reason || ''} ${e.quarantinedTo ? `moved to ${e.quarantinedTo}` : ''}`,
        ]),
      ),
      'no store event since the page started',
    );
  }

  // ---- charts ------------------------------------------------------------------------------------

  function mergeSeries(points) {
    if (!points || !points.series) return;
    bucketMs = points.bucketMs;
    for (const [name, values] of Object.entries(points.series)) {
      let m = series.get(name);
      if (!m) {
        m = new Map();
        series.set(name, m);
      }
      values.forEach((v, i) => m.set(points.fromMs + i * points.bucketMs, v));
    }
    const end =
      points.fromMs + bucketMs * Math.max(0, ...Object.values(points.series).map((v) => v.length - 1));
    for (const m of series.values()) for (const t of m.keys()) if (t < end - historyMs) m.delete(t);
  }

  function drawChart(spec, endMs) {
    const box = el('div', null, 'chart');
    box.appendChild(el('h3', spec.title));
    const names = spec.prefix
      ? [...series.keys()]
          .filter((n) => n.startsWith(spec.prefix))
          .map((n) => [n, n.slice(spec.prefix.length)])
      : spec.lines.filter(([n]) => series.has(n));
    const startMs = endMs - historyMs;
    let max = 0;
    for (const [n] of names)
      for (const [t, v] of series.get(n)) if (t >= startMs && v !== null) max = Math.max(max, v);
    const top = max > 0 ? max * 1.1 : 1;
    const W = 600;
    const H = 120;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('preserveAspectRatio', 'none');
    names.forEach(([n], k) => {
      let d = '';
      const points = [...series.get(n)]
        .filter(([t, v]) => t >= startMs && v !== null)
        .sort((a, b) => a[0] - b[0]);
      // A series sampled less often than a bucket has empty buckets between its points: join points
      // closer than three typical gaps, and break the line at longer silences (a component down).
      const gaps = points
        .slice(1)
        .map(([t], i) => t - points[i][0])
        .sort((x, y) => x - y);
      const joinMs = Math.max(2 * bucketMs, 3 * (gaps[Math.floor(gaps.length / 2)] || bucketMs));
      let previous = null;
      for (const [t, v] of points) {
        const x = ((t - startMs) / historyMs) * W;
        const y = H - (v / top) * (H - 4) - 2;
        const pen = previous !== null && t - previous <= joinMs;
        d += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)} ${pen ? '' : `h0.1 `}`;
        previous = t;
      }
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', d.trim() || 'M0 0');
      path.setAttribute('fill', 'none');
      path.setAttribute('stroke-width', '1.5');
      path.setAttribute('stroke-linecap', 'round');
      path.setAttribute('vector-effect', 'non-scaling-stroke');
      path.setAttribute('class', `s${k % 4}`);
      svg.appendChild(path);
    });
    box.appendChild(svg);
    const axis = el('div', null, 'axis');
    axis.appendChild(el('span', `−${Math.round(historyMs / 60000)} min`));
    axis.appendChild(el('span', `max ${num(max, max < 10 ? 2 : 0)}`));
    axis.appendChild(el('span', 'now'));
    box.appendChild(axis);
    const legend = el('div', null, 'legend');
    names.forEach(([, label], k) => legend.appendChild(el('span', `■ ${label}  `, `k${k % 4}`)));
    if (names.length === 0) legend.textContent = 'no data yet';
    box.appendChild(legend);
    return box;
  }

  function renderCharts(s) {
    const end = s.series && s.series.fromMs ? s.atMs : Date.now();
    $('charts').replaceChildren(...CHARTS.map((c) => drawChart(c, end)));
  }

  // ---- data --------------------------------------------------------------------------------------

  function apply(s) {
    snapshot = s;
    lastUpdate = Date.now();
    if (s.page) {
      pushMs = s.page.pushIntervalMs;
      historyMs = s.page.historyMs;
    }
    mergeSeries(s.series);
    $('thing').textContent = s.thing || '';
    document.title = `Edge DR status · ${s.thing || ''}`;
    renderComponents(s);
    renderRegions(s);
    renderBacklog(s);
    renderSwitches(s);
    renderAnomalies(s);
    renderDeadLetters(s);
    renderStore(s);
    renderCharts(s);
  }

  function setLive(cls, text) {
    const e = $('live');
    e.className = `live ${cls}`;
    e.textContent = text;
  }

  function poll() {
    fetch('api/status', { credentials: 'same-origin', cache: 'no-store' })
      .then((r) => {
        if (r.status === 401) {
          setLive('off', 'not authorised: open the page with ?token=…');
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then((s) => {
        if (s) apply(s);
      })
      .catch(() => setLive('off', 'gateway unreachable'));
  }

  function follow() {
    if (typeof EventSource === 'undefined') {
      pollTimer = setInterval(poll, pushMs);
      return;
    }
    const es = new EventSource('api/events');
    es.addEventListener('snapshot', (e) => {
      series.clear();
      apply(JSON.parse(e.data));
      setLive('on', 'live');
    });
    es.addEventListener('update', (e) => {
      apply(JSON.parse(e.data));
      setLive('on', 'live');
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        // Refused (401, 503 with too many pages open): poll instead, slowly.
        setLive('off', 'live updates refused: polling');
        if (pollTimer === null) pollTimer = setInterval(poll, Math.max(5000, pushMs));
      } else setLive('connecting', 'reconnecting…');
    };
  }

  setInterval(() => {
    if (snapshot && Date.now() - lastUpdate > 3 * pushMs + 2000)
      setLive('off', `no update for ${age(Date.now() - lastUpdate)}`);
  }, 1000);
  poll();
  follow();
})();
