import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { checkConfig } from '../config';

/** What a component's metrics say about its configuration. */
export interface ConfigurationStatus {
  /** Whether the nucleus asks the component to validate a deployment first (the Java nucleus does). */
  validatedByNucleus: boolean;
  /** Configurations that arrived invalid and were refused (the last good one kept running). */
  refused: number;
  /** The newest refusal: when and why. */
  lastRefusal: { atMs: number; problems: string } | null;
  /** True while the component runs with a configuration older than the one the nucleus holds. */
  runningLastGood: boolean;
}

export type Verdict<C> =
  { readonly ok: true; readonly value: C } | { readonly ok: false; readonly message: string };

/** `accessControl` lives in a component's configuration on Greengrass but is the nucleus's, not ours. */
export function withoutAccessControl(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { accessControl: _ignored, ...rest } = raw as Record<string, unknown>;
  return rest;
}

const FILE = 'last-good-configuration.json';

/**
 * Judges configurations with the component's schema and device checks, and remembers the last good one
 * in the work directory. Nucleus lite delivers a deployment's configuration without asking the
 * component first, so a bad one reaches it: it is refused by keeping the last good one (across a
 * restart too), never by a crash loop into BROKEN.
 */
export class ConfigurationGuard<S extends z.ZodType> {
  readonly status: ConfigurationStatus = {
    validatedByNucleus: false,
    refused: 0,
    lastRefusal: null,
    runningLastGood: false,
  };
  private readonly file: string;

  constructor(
    private readonly schema: S,
    private readonly check: ((config: Readonly<z.output<S>>) => string[]) | undefined,
    workDir: string,
  ) {
    this.file = join(workDir, FILE);
  }

  judge(raw: unknown): Verdict<z.output<S>> {
    const verdict = checkConfig(this.schema, withoutAccessControl(raw));
    if (!verdict.ok) return { ok: false, message: verdict.message };
    const problems = this.check?.(verdict.value) ?? [];
    if (problems.length > 0) return { ok: false, message: problems.join('; ') };
    return { ok: true, value: verdict.value };
  }

  /** Records a configuration the component now runs with. */
  accepted(raw: unknown, nowMs: number): void {
    this.status.runningLastGood = false;
    const text = JSON.stringify({ savedAtMs: nowMs, configuration: withoutAccessControl(raw) });
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  refused(message: string, nowMs: number): void {
    this.status.refused += 1;
    this.status.lastRefusal = { atMs: nowMs, problems: message };
    this.status.runningLastGood = true;
  }

  /** The last configuration this component ran with on this device, if it is still good. */
  lastGood(): { readonly value: z.output<S>; readonly raw: unknown; readonly savedAtMs: number } | undefined {
    let saved: { savedAtMs?: unknown; configuration?: unknown };
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as typeof saved;
    } catch {
      return undefined;
    }
    const verdict = this.judge(saved.configuration);
    if (!verdict.ok) return undefined;
    return {
      value: verdict.value,
      raw: saved.configuration,
      savedAtMs: typeof saved.savedAtMs === 'number' ? saved.savedAtMs : 0,
    };
  }
}
