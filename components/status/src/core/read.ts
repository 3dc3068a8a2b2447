/**
 * Reading the suite's documents defensively: they are JSON from other processes (and, on a gateway,
 * possibly from a component that is not the suite's), so every field is checked for its type and every
 * string is cut, and a document that lacks a field leaves that part of the page as it was.
 */
export type Doc = Readonly<Record<string, unknown>>;

export const MAX_TEXT = 240;

export function obj(value: unknown): Doc | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Doc) : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function numOrNull(value: unknown): number | null {
  return num(value) ?? null;
}

export function text(value: unknown, max = MAX_TEXT): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

export function bool(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

/** `{ key: number }` maps (counts by reason), at most `max` entries, keys cut. */
export function counts(value: unknown, max = 64): Record<string, number> {
  const out: Record<string, number> = {};
  const o = obj(value);
  if (o === undefined) return out;
  let n = 0;
  for (const [k, v] of Object.entries(o)) {
    const c = num(v);
    if (c === undefined) continue;
    if (n++ >= max) break;
    out[k.slice(0, 64)] = c;
  }
  return out;
}

/** What a component's metrics say about its configuration (shared/src/component/config-guard.ts). */
export interface ConfigurationView {
  readonly validatedByNucleus: boolean | null;
  readonly refused: number;
  readonly lastRefusal: { readonly atMs: number | null; readonly problems: string } | null;
  readonly runningLastGood: boolean;
}

export function configurationView(value: unknown): ConfigurationView | null {
  const c = obj(value);
  if (c === undefined) return null;
  const last = obj(c['lastRefusal']);
  return {
    validatedByNucleus: bool(c['validatedByNucleus']) ?? null,
    refused: num(c['refused']) ?? 0,
    lastRefusal:
      last === undefined ? null : { atMs: numOrNull(last['atMs']), problems: text(last['problems']) ?? '' },
    runningLastGood: bool(c['runningLastGood']) ?? false,
  };
}
