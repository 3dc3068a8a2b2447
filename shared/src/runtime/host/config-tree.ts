/** Component configuration as a JSON tree addressed by key paths, with Greengrass's merge semantics. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonTree = { [key: string]: Json };

function isObject(v: unknown): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getAt(
  tree: JsonTree,
  keyPath: readonly string[],
): { found: true; value: Json } | { found: false } {
  let node: Json = tree;
  for (const key of keyPath) {
    if (!isObject(node) || !(key in node)) return { found: false };
    node = node[key] as Json;
  }
  return { found: true, value: node };
}

/** Deep merge: objects merge key by key; anything else (arrays included) replaces. */
export function deepMerge(base: Json | undefined, patch: Json): Json {
  if (!isObject(base) || !isObject(patch)) return structuredClone(patch);
  const out: { [key: string]: Json } = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

export function mergeAt(tree: JsonTree, keyPath: readonly string[], patch: Json): JsonTree {
  if (keyPath.length === 0) {
    const merged = deepMerge(tree, patch);
    return isObject(merged) ? merged : tree;
  }
  const [head, ...rest] = keyPath as [string, ...string[]];
  const child = tree[head];
  const next: Json =
    rest.length === 0 ? deepMerge(child, patch) : mergeAt(isObject(child) ? child : {}, rest, patch);
  return { ...tree, [head]: next };
}

/** Leaf and container paths whose value differs between two trees (the shallowest differing node). */
export function changedPaths(
  before: Json | undefined,
  after: Json | undefined,
  prefix: string[] = [],
): string[][] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (!isObject(before) || !isObject(after)) return [prefix];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((k) => changedPaths(before[k], after[k], [...prefix, k]));
}

/** Whether a change at `changed` concerns a watcher of `watched` (one is a prefix of the other). */
export function pathsOverlap(watched: readonly string[], changed: readonly string[]): boolean {
  const n = Math.min(watched.length, changed.length);
  for (let i = 0; i < n; i++) if (watched[i] !== changed[i]) return false;
  return true;
}
