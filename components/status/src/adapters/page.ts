import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The page: one self-contained HTML document with its style and script inline, no external origin, no
 * framework. The Content-Security-Policy allows exactly that style and that script (by their SHA-256),
 * fetches to this origin only, and nothing else: no frames, no forms, no other scripts, so even a value
 * that slipped into the DOM could not run.
 */
export interface StatusPage {
  readonly html: Buffer;
  readonly contentSecurityPolicy: string;
}

/** Where the page's files are: beside the bundle (`assets/`), or in the sources when run from them. */
export function assetsDir(bundleDir: string): string {
  const candidates = [join(bundleDir, 'assets'), join(bundleDir, '..', 'assets')];
  const found = candidates.find((d) => existsSync(join(d, 'page.html')));
  if (found === undefined)
    throw new Error(`the status page's files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

const STYLE_SLOT = /<style>\s*\/\* \{\{style\}\} \*\/\s*<\/style>/;
const SCRIPT_SLOT = /<script>\s*\/\* \{\{script\}\} \*\/\s*<\/script>/;

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function buildPage(dir: string): StatusPage {
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const style = read('page.css');
  const script = read('page.js');
  const template = read('page.html');
  // The slots are comments (the formatter leaves them alone); the element's whole text is replaced,
  // since the policy's hash is of exactly what sits between the tags.
  if (!STYLE_SLOT.test(template) || !SCRIPT_SLOT.test(template))
    throw new Error('page.html lacks its style or script slot');
  const html = template
    .replace(STYLE_SLOT, () => `<style>${style}</style>`)
    .replace(SCRIPT_SLOT, () => `<script>${script}</script>`);
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html: Buffer.from(html, 'utf8'), contentSecurityPolicy };
}
