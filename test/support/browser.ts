import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page, type Response } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (which downloads no browser of its own). Headless,
 * without the sandbox (tests run as root in CI), and without any of Chromium's own network traffic.
 */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumUnavailable(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install -y chromium)`;
  const probe = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0) return `${CHROMIUM} --version failed: ${(probe.stderr || probe.stdout).trim()}`;
  return undefined;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
}

/**
 * `page.goto`, again when Chromium aborted it with ERR_NETWORK_CHANGED: it drops navigations in flight
 * whenever the host's interfaces change, which other tests' network namespaces and veth pairs do.
 * Any other failure is the test's.
 */
export async function openPage(page: Page, url: string): Promise<Response | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('net::ERR_NETWORK_CHANGED')) throw err;
    }
  }
}
