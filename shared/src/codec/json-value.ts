import { LANES, MAX_DEVICE_ID_CHARS, STREAM_NAME } from '../record';

/**
 * Bodies nest at most this deep (the body object itself is level 1). Readings are flat and events a
 * few levels deep; a limit keeps a hostile document from exhausting the stack of a recursive reader.
 */
export const MAX_BODY_DEPTH = 32;
export const MAX_RECORD_ID_CHARS = 256;

/** Sets a key as data, also `__proto__`, which plain assignment would take as the prototype. */
export function setData(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Why `value` is not a JSON value nested at most `maxDepth` deep (finite numbers only), or null.
 * Iterative, so any depth of input costs no stack.
 */
export function jsonValueProblem(value: unknown, maxDepth = MAX_BODY_DEPTH): string | null {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: unknown; depth: number };
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'a number is not finite';
      continue;
    }
    if (typeof v !== 'object') return `a ${typeof v} is not a JSON value`;
    if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (Array.isArray(v)) {
      for (const item of v) stack.push({ v: item, depth: depth + 1 });
    } else {
      if (!isPlainObject(v)) return 'an object that is not plain data';
      for (const key of Object.keys(v))
        stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return null;
}

const RECORD_KEYS = new Set(['id', 'stream', 'lane', 'deviceId', 'tsMs', 'body']);

/**
 * Why `value` is not a record of the model (the same rules as `recordSchema`), or null. Unlike a zod
 * parse it checks in place, so body keys such as `__proto__` stay data, and its depth is bounded.
 */
export function recordProblem(value: unknown, maxDepth = MAX_BODY_DEPTH): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!RECORD_KEYS.has(key)) return `unknown field ${key.slice(0, 40)}`;
  const { id, stream, lane, deviceId, tsMs, body } = r;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_RECORD_ID_CHARS)
    return `id must be a string of 1-${MAX_RECORD_ID_CHARS} characters`;
  if (typeof stream !== 'string' || !STREAM_NAME.test(stream))
    return 'stream must be 1-128 letters, digits, _ . - /';
  if (typeof lane !== 'string' || !(LANES as readonly string[]).includes(lane)) return 'unknown lane';
  if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > MAX_DEVICE_ID_CHARS)
    return `deviceId must be a string of 1-${MAX_DEVICE_ID_CHARS} characters`;
  if (typeof tsMs !== 'number' || !Number.isSafeInteger(tsMs) || tsMs < 0)
    return 'tsMs must be a non-negative integer';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be an object';
  const problem = jsonValueProblem(body, maxDepth);
  return problem === null ? null : `body: ${problem}`;
}
