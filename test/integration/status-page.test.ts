import { chmodSync, copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createNetworkLink, namespacesUnavailable, type NetworkLink } from '../../dev/netns';
import { makePki, type Pki } from '../../dev/pki';
import { PumpSimulator } from '../../dev/pump-simulator';
import { startLocalSuite, statusPageUrl, type LocalSuite } from '../../dev/suite';
import { chromiumUnavailable, launchChromium, openPage } from '../support/browser';
import { localGateway, type LocalGateway } from '../support/launch';
import { FAST_REPLAY } from '../support/replay';
import { useTempDir } from '../support/temp-dir';

/**
 * The status page in a real browser (Debian's Chromium through playwright-core) against the running
 * suite: it loads, it shows a failover as it happens, and a LAN-style configuration enforces its token
 * and serves HTTPS with a certificate it renews without a restart.
 */
const unavailable = chromiumUnavailable();
if (unavailable !== undefined) console.warn(`status page browser tests skipped: ${unavailable}`);

jest.setTimeout(240_000);

const STATUS = 'com.edgedr.Status';
const TOKEN = 'status-page-test-token-7f3a9c2e51';

/** Waits until an element's text matches, naming what was awaited when it does not. */
async function waitForText(page: Page, selector: string, expected: RegExp, what: string): Promise<void> {
  await page
    .locator(selector)
    .filter({ hasText: expected })
    .first()
    .waitFor({ timeout: 60_000 })
    .catch(async (err: unknown) => {
      const shown = await page
        .locator('main')
        .innerText()
        .catch(() => '(no page)');
      throw new Error(`waiting for ${what}: ${String(err)}\nthe page showed:\n${shown}`);
    });
}

(unavailable === undefined ? describe : describe.skip)('the status page in headless Chromium', () => {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe('against the running suite', () => {
    let suite: LocalSuite | undefined;
    let feed: NodeJS.Timeout | undefined;
    afterEach(async () => {
      clearInterval(feed);
      await suite?.stop();
      suite = undefined;
    });

    it('loads, shows every component reporting, and shows a failover as it happens', async () => {
      suite = await startLocalSuite({
        thing: 'gw-status',
        keep: false,
        status: true,
        overrides: () => ({
          'com.edgedr.Buffer': { metricsIntervalMs: 500 },
          'com.edgedr.Ingest': { metricsIntervalMs: 1_000 },
          'com.edgedr.Inference': { metricsIntervalMs: 1_000, calibration: { onStart: false } },
          'com.edgedr.Replay': FAST_REPLAY,
          [STATUS]: { port: 0, pushIntervalMs: 500, bucketMs: 1_000 },
        }),
      });
      const running = suite;
      const sim = new PumpSimulator(7, ['pump-01', 'pump-02', 'pump-03', 'pump-04'], Date.now(), 100);
      feed = setInterval(() => {
        for (const r of sim.next())
          running.host.publish(`sensors/${r.deviceId}/telemetry`, {
            kind: 'json',
            message: { ts: r.tsMs, ...r.measurements },
          });
      }, 100);
      const url = await statusPageUrl(running.launcher.logPath(STATUS));
      const page = await (browser as Browser).newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      const response = await openPage(page, url);
      expect(response?.status()).toBe(200);
      await waitForText(page, '#live', /^live$/, 'live updates');
      await page.locator('#components tbody tr[data-state="reporting"]').nth(3).waitFor({ timeout: 60_000 });
      await page
        .locator('#regions tr.active[data-region="region-a"][data-status="healthy"]')
        .waitFor({ timeout: 60_000 });
      expect(await page.locator('#active-region').textContent()).toBe('region-a');
      await waitForText(page, '#drain-rate', /^\d[\d,.]*\/s$/, 'a drain rate');

      // Region A black-holed: the page switches the active region and lists the failover.
      running.regions.a.pause();
      await waitForText(page, '#active-region', /^region-b$/, 'the active region to become region-b');
      await page.waitForSelector('#switches tr[data-kind="failover"][data-to="region-b"]', {
        timeout: 60_000,
      });
      const row = await page.locator('#switches tr[data-kind="failover"]').first().textContent();
      expect(row).toContain('region-a → region-b');
      expect(await page.locator('#regions tr[data-region="region-a"]').getAttribute('data-status')).toBe(
        'down',
      );
      // The switch's timing completes once region B acknowledges.
      await waitForText(page, '#switches tr[data-kind="failover"] td:nth-child(5)', /\d/, 'the switch time');
      expect(await page.locator('#charts svg').count()).toBeGreaterThanOrEqual(5);

      // Both regions down: no region active, and the header says nothing drains.
      running.regions.b.pause();
      await waitForText(page, '#drain-rate', /^none \(no region up\)$/, 'the drain to show no region up');
      await page.waitForSelector('#switches tr[data-kind="all-down"]', { timeout: 60_000 });
      running.regions.a.resume();
      running.regions.b.resume();
      expect(problems).toEqual([]);
      await page.close();
    });
  });

  describe('on a LAN-style address with a token', () => {
    const tempDir = useTempDir('ggdr-status-lan-');
    let gw: LocalGateway | undefined;
    let link: NetworkLink | undefined;
    afterEach(async () => {
      await gw?.close();
      gw = undefined;
      link?.close();
      link = undefined;
    });

    /** A non-loopback address of this machine (the host side of a veth pair), or loopback when none can be made. */
    function lanAddress(): string {
      const why = namespacesUnavailable();
      if (why !== undefined) {
        console.warn(`the token test listens on 127.0.0.1 with a token instead of a LAN address: ${why}`);
        return '127.0.0.1';
      }
      link = createNetworkLink();
      return link.hostAddress;
    }

    it('refuses to start on that address without a token', async () => {
      const address = lanAddress();
      if (address === '127.0.0.1') return; // loopback without a token is allowed: nothing to refuse here
      gw = await localGateway(tempDir(), { [STATUS]: { listenAddress: address, port: 0 } });
      await gw.launcher.launch([STATUS]);
      await gw.launcher.waitForState(STATUS, 'BROKEN', 60_000);
      expect(readFileSync(gw.launcher.logPath(STATUS), 'utf8')).toContain(
        `listenAddress ${address} is not loopback`,
      );
    });

    it('answers 401 without the token, the page with it (cookie from ?token=), JSON with a Bearer header', async () => {
      const address = lanAddress();
      const tokenPath = join(tempDir(), 'status-token');
      writeFileSync(tokenPath, `${TOKEN}\n`);
      chmodSync(tokenPath, 0o600);
      gw = await localGateway(tempDir(), {
        [STATUS]: { listenAddress: address, port: 0, tokenPath, pushIntervalMs: 500 },
      });
      await gw.launcher.launch(['com.edgedr.Buffer', STATUS]);
      await gw.launcher.waitForState(STATUS, 'RUNNING', 60_000);
      const url = await statusPageUrl(gw.launcher.logPath(STATUS));
      expect(new URL(url).hostname).toBe(address);

      const context = await (browser as Browser).newContext();
      const page = await context.newPage();
      const refused = await openPage(page, url);
      expect(refused?.status()).toBe(401);
      expect((await page.content()).toLowerCase()).not.toContain('edge dr');
      expect((await openPage(page, `${url}?token=wrong-token-wrong-token`))?.status()).toBe(401);

      const allowed = await openPage(page, `${url}?token=${TOKEN}`);
      expect(allowed?.status()).toBe(200);
      expect(page.url()).toBe(url); // the token left the address bar
      await waitForText(page, '#live', /^live$/, 'live updates through the session cookie');
      const cookies = await context.cookies();
      expect(cookies).toEqual([
        expect.objectContaining({ name: 'edgedr_status', httpOnly: true, sameSite: 'Strict' }),
      ]);
      expect(cookies[0]?.value).not.toContain(TOKEN);
      await waitForText(
        page,
        '#components tr[data-component="com.edgedr.Buffer"] .state',
        /reporting/,
        'Buffer reporting',
      );
      await context.close();

      expect((await fetch(`${url}api/status`)).status).toBe(401);
      const api = await fetch(`${url}api/status`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(api.status).toBe(200);
      expect(((await api.json()) as { thing: string }).thing).toBe('gw-test');
      const post = await fetch(`${url}api/status`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(post.status).toBe(405);
    });

    it('serves HTTPS with its certificate on that address, and takes a renewed one without a restart', async () => {
      const address = lanAddress();
      const dir = tempDir();
      const tokenPath = join(dir, 'status-token');
      writeFileSync(tokenPath, `${TOKEN}\n`, { mode: 0o600 });
      const first = makePki(dir, 'first', [], [address]);
      const certPath = join(dir, 'status.pem');
      const keyPath = join(dir, 'status.key');
      // As the docs say to renew: each file written beside its place and renamed over it.
      const install = (pki: Pki): void => {
        copyFileSync(pki.serverKey, `${keyPath}.new`);
        chmodSync(`${keyPath}.new`, 0o600);
        copyFileSync(pki.serverCert, `${certPath}.new`);
        renameSync(`${keyPath}.new`, keyPath);
        renameSync(`${certPath}.new`, certPath);
      };
      const log = (): string => readFileSync((gw as LocalGateway).launcher.logPath(STATUS), 'utf8');
      install(first);
      gw = await localGateway(dir, {
        [STATUS]: {
          listenAddress: address,
          port: 0,
          tokenPath,
          tls: { certPath, keyPath },
          pushIntervalMs: 500,
          probeIntervalMs: 1_000,
        },
      });
      await gw.launcher.launch(['com.edgedr.Buffer', STATUS]);
      await gw.launcher.waitForState(STATUS, 'RUNNING', 60_000);
      const url = await statusPageUrl(gw.launcher.logPath(STATUS));
      expect(new URL(url)).toMatchObject({ protocol: 'https:', hostname: address });
      // The test certificates are valid for two days: inside the 14 days' warning.
      expect(log()).toContain('the certificate expires soon');
      const auth = { Authorization: `Bearer ${TOKEN}` };
      // Verified as a browser would: the chain to the CA and the address in the certificate.
      expect((await getTls(`${url}api/status`, first.caCert, auth)).status).toBe(200);
      expect((await getTls(`${url}api/status`, first.caCert)).status).toBe(401);
      await expect(fetch(url.replace('https:', 'http:'))).rejects.toThrow();

      // The browser here does not know the test CA: certificate errors are ignored, the rest is real.
      const context = await (browser as Browser).newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      expect((await openPage(page, `${url}?token=${TOKEN}`))?.status()).toBe(200);
      await waitForText(page, '#live', /^live$/, 'live updates over HTTPS');
      expect(await context.cookies()).toEqual([
        expect.objectContaining({ name: 'edgedr_status', httpOnly: true, secure: true }),
      ]);
      await context.close();

      const renewed = makePki(dir, 'renewed', [], [address]);
      install(renewed);
      const deadline = Date.now() + 30_000;
      let answered: number | string = 'no answer';
      while (Date.now() < deadline) {
        answered = await getTls(`${url}api/status`, renewed.caCert, auth).then(
          (r) => r.status,
          (err: unknown) => String(err),
        );
        if (answered === 200) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(answered).toBe(200);
      await expect(getTls(`${url}api/status`, first.caCert, auth)).rejects.toThrow(
        /unable to verify|self-signed|certificate/i,
      );
      expect(log()).toContain('certificate files changed: the new certificate applies');

      // Files that turn unusable (a key others can read) leave the certificate in force.
      chmodSync(keyPath, 0o644);
      const said = Date.now() + 30_000;
      while (!log().includes('certificate files unusable') && Date.now() < said)
        await new Promise((r) => setTimeout(r, 250));
      expect(log()).toContain('tls.keyPath');
      expect(log()).toContain('certificate files unusable: the certificate in force stays');
      expect((await getTls(`${url}api/status`, renewed.caCert, auth)).status).toBe(200);
    });
  });
});

/** A GET over HTTPS that trusts `ca` only (a new connection each time). */
function getTls(
  url: string,
  ca: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca: readFileSync(ca), headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}
