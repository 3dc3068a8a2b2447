/** Local pub/sub topics: MQTT-style filters for subscriptions, globs for authorization resources. */

export function isValidTopicName(topic: string): boolean {
  return (
    topic.length > 0 &&
    topic.length <= 65535 &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\0')
  );
}

export function isValidTopicFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65535 || filter.includes('\0')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level.includes('#')) return level === '#' && i === levels.length - 1;
    if (level.includes('+')) return level === '+';
    return true;
  });
}

export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** MQTT matching: `+` one level, `#` the rest (including the parent level itself). */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * Authorization resources: an exact string, or `*` matching any run of characters. MQTT wildcards in a
 * resource are literal (Greengrass pubsub authorization): `a/#` grants subscribing to `a/#`, not `a/b`.
 */
export function resourceMatches(resource: string, requested: string): boolean {
  if (resource === '*' || resource === requested) return true;
  if (!resource.includes('*')) return false;
  const pattern = resource
    .split('*')
    .map((part) => part.replace(/[.?+^$|()[\]{}\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`, 's').test(requested);
}
