import { isAuthorized } from '../../shared/src/runtime/host/access-control';
import { changedPaths, getAt, mergeAt, pathsOverlap } from '../../shared/src/runtime/host/config-tree';
import {
  isValidTopicFilter,
  isValidTopicName,
  resourceMatches,
  topicMatches,
} from '../../shared/src/runtime/host/topics';

describe('topics', () => {
  it.each([
    ['sensors/+/pressure', 'sensors/pump-1/pressure', true],
    ['sensors/+/pressure', 'sensors/pump-1/flow', false],
    ['sensors/+', 'sensors/a/b', false],
    ['sensors/#', 'sensors', true],
    ['sensors/#', 'sensors/a/b/c', true],
    ['#', 'anything/at/all', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['+/+', 'a/b', true],
    ['+', '', true],
  ])('filter %s vs topic %s -> %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('validates filters and names', () => {
    for (const ok of ['a', 'a/+/c', 'a/#', '#', '+/x']) expect(isValidTopicFilter(ok)).toBe(true);
    for (const bad of ['', 'a/#/c', 'a/b#', 'a+/b', 'a/\0']) expect(isValidTopicFilter(bad)).toBe(false);
    expect(isValidTopicName('a/b')).toBe(true);
    expect(isValidTopicName('a/+')).toBe(false);
  });

  it('matches authorization resources exactly or by * glob; MQTT wildcards are literal', () => {
    expect(resourceMatches('*', 'x/y')).toBe(true);
    expect(resourceMatches('sensors/*', 'sensors/a/b')).toBe(true);
    expect(resourceMatches('sensors/*/flow', 'sensors/a/flow')).toBe(true);
    expect(resourceMatches('sensors/#', 'sensors/#')).toBe(true);
    expect(resourceMatches('sensors/#', 'sensors/a')).toBe(false);
    expect(resourceMatches('a.b', 'axb')).toBe(false);
  });

  it('grants an operation only through a matching policy', () => {
    const acl = {
      'aws.greengrass.ipc.pubsub': {
        p1: { operations: ['aws.greengrass#PublishToTopic'], resources: ['out/*'] },
        p2: { operations: ['*'], resources: ['all/x'] },
      },
    };
    expect(isAuthorized(acl, 'aws.greengrass.ipc.pubsub', 'aws.greengrass#PublishToTopic', 'out/1')).toBe(
      true,
    );
    expect(isAuthorized(acl, 'aws.greengrass.ipc.pubsub', 'aws.greengrass#SubscribeToTopic', 'out/1')).toBe(
      false,
    );
    expect(isAuthorized(acl, 'aws.greengrass.ipc.pubsub', 'aws.greengrass#SubscribeToTopic', 'all/x')).toBe(
      true,
    );
    expect(
      isAuthorized(acl, 'aws.greengrass.ipc.mqttproxy', 'aws.greengrass#PublishToIoTCore', 'out/1'),
    ).toBe(false);
  });
});

describe('configuration tree', () => {
  const tree = { a: { b: 1, c: [1, 2] }, d: 'x' };

  it('reads by key path', () => {
    expect(getAt(tree, ['a', 'b'])).toEqual({ found: true, value: 1 });
    expect(getAt(tree, [])).toEqual({ found: true, value: tree });
    expect(getAt(tree, ['a', 'zz'])).toEqual({ found: false });
    expect(getAt(tree, ['d', 'x'])).toEqual({ found: false });
  });

  it('merges objects key by key and replaces everything else', () => {
    expect(mergeAt(tree, ['a'], { b: 2, e: true })).toEqual({ a: { b: 2, c: [1, 2], e: true }, d: 'x' });
    expect(mergeAt(tree, ['a', 'c'], [9])).toEqual({ a: { b: 1, c: [9] }, d: 'x' });
    expect(mergeAt(tree, ['new', 'deep'], 5)).toEqual({ ...tree, new: { deep: 5 } });
    expect(tree).toEqual({ a: { b: 1, c: [1, 2] }, d: 'x' }); // the input is not changed
  });

  it('names the shallowest changed paths', () => {
    expect(changedPaths(tree, { a: { b: 2, c: [1, 2] }, d: 'x' })).toEqual([['a', 'b']]);
    expect(changedPaths(tree, { a: 'gone', d: 'x', n: 1 })).toEqual([['a'], ['n']]);
    expect(changedPaths(tree, structuredClone(tree))).toEqual([]);
  });

  it('relates watched and changed paths', () => {
    expect(pathsOverlap([], ['a', 'b'])).toBe(true);
    expect(pathsOverlap(['a'], ['a', 'b'])).toBe(true);
    expect(pathsOverlap(['a', 'b', 'c'], ['a', 'b'])).toBe(true);
    expect(pathsOverlap(['a', 'x'], ['a', 'b'])).toBe(false);
  });
});
