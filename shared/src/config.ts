import { z } from 'zod';
import { DrError } from './errors';

/**
 * Greengrass may hand numbers back as floats or, on nucleus lite, YAML scalars as strings
 * (GREENGRASS.md, "Recipes"). These helpers accept a numeric or boolean string where a number or
 * boolean is expected, and nothing looser: '' or 'abc' stay errors.
 */
function numericString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed === '') return value;
  const parsed = Number(trimmed);
  return Number.isFinite(parsed) ? parsed : value;
}

function booleanString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return value;
}

/** YAML's spellings of null, which nucleus lite hands over as text. */
const NULL_TEXT = new Set(['null', 'Null', 'NULL', '~']);

function nullString(value: unknown): unknown {
  return typeof value === 'string' && NULL_TEXT.has(value.trim()) ? null : value;
}

type NumberRefinement = (n: z.ZodNumber) => z.ZodNumber;
const asIs: NumberRefinement = (n) => n;

export const cfg = {
  /** A finite number; numeric strings accepted. Bounds go in `refine`: `cfg.number((n) => n.min(0))`. */
  number: (refine: NumberRefinement = asIs) => z.preprocess(numericString, refine(z.number())),
  /** An integer; numeric strings and integral floats (3.0) accepted. */
  int: (refine: NumberRefinement = asIs) => z.preprocess(numericString, refine(z.number().int())),
  /** A boolean; "true"/"false" accepted. */
  bool: () => z.preprocess(booleanString, z.boolean()),
  /** A value or null; YAML's null text ("null", "~") accepted as null. */
  nullable: <T extends z.ZodType>(inner: T) => z.preprocess(nullString, inner.nullable()),
};

export interface ConfigProblem {
  readonly path: string;
  readonly expected: string;
  readonly found: string;
}

function renderPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('');
}

/** A short, single-line view of a found value; long values are cut so logs stay readable. */
function renderFound(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = typeof value; // cyclic or otherwise unserialisable
  }
  const kind = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return `${kind} ${shown}`;
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `${issue.origin === 'string' || issue.origin === 'array' ? 'length ' : ''}${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.origin === 'string' || issue.origin === 'array' ? 'length ' : ''}${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'unrecognized_keys':
      return 'no such key (check the spelling)';
    case 'invalid_format':
      return `a ${issue.format} string`;
    case 'not_multiple_of':
      return `a multiple of ${String(issue.divisor)}`;
    case 'invalid_union':
    case 'invalid_key':
    case 'invalid_element':
    case 'custom':
      return issue.message;
  }
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const holder: Record<string, unknown> =
        typeof issue.input === 'object' && issue.input !== null ? { ...issue.input } : {};
      for (const key of issue.keys) {
        problems.push({
          path: renderPath([...issue.path, key]),
          expected: expectedOf(issue),
          found: renderFound(holder[key]),
        });
      }
      continue;
    }
    problems.push({
      path: renderPath(issue.path),
      expected: expectedOf(issue),
      found: renderFound(issue.input),
    });
  }
  return problems;
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: expected ${p.expected}, found ${p.found}`).join('; ');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

/**
 * Validates raw configuration once, fills defaults from the schema and returns a frozen result.
 * Throws CFG_INVALID whose message lists every problem as `path: expected ..., found ...`.
 */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  source: string,
): Readonly<z.output<S>> {
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const problems = describeIssues(result.error.issues);
    throw new DrError('CFG_INVALID', `invalid configuration (${source}): ${formatProblems(problems)}`, {
      details: { source, problems },
    });
  }
  return deepFreeze(result.data);
}

/** The same check as parseConfig, as a verdict: used to answer configuration-validation requests. */
export function checkConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
):
  | { readonly ok: true; readonly value: z.output<S> }
  | { readonly ok: false; readonly message: string; readonly problems: ConfigProblem[] } {
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  const problems = describeIssues(result.error.issues);
  return { ok: false, message: formatProblems(problems), problems };
}
