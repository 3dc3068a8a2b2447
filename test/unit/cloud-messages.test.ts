import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cloudTopics,
  commandReplySchema,
  commandSchema,
  presenceSchema,
  shadowUpdateSchema,
} from '../../shared/src/messages/cloud';

/** The JSON examples of docs/cloud.md, in order. */
function examples(): unknown[] {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'cloud.md'), 'utf8');
  return [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '') as unknown);
}

describe('cloud message formats', () => {
  it('parse the examples the cloud guide shows', () => {
    const [shadow, command] = examples();
    expect(shadowUpdateSchema.parse(shadow).state.reported.activeRegion).toBe('eu-west-1');
    expect(commandSchema.parse(command)).toMatchObject({ type: 'pin', args: { region: 'eu-west-1' } });
  });

  it.each<[string, unknown]>([
    ['done', { id: 'c-1', type: 'status', status: 'done', result: {}, region: 'eu', atMs: 1 }],
    [
      'refused',
      { id: null, status: 'refused', reason: 'malformed', detail: 'not JSON', region: 'eu', atMs: 1 },
    ],
    [
      'failed',
      {
        id: 'c-2',
        type: 'pin',
        status: 'failed',
        reason: 'COMMAND_REJECTED',
        detail: 'no region',
        region: 'eu',
        atMs: 1,
      },
    ],
  ])('a %s reply', (_, reply) => {
    expect(commandReplySchema.parse(reply)).toEqual(reply);
  });

  it('refuses what the formats do not allow', () => {
    expect(presenceSchema.safeParse({ thing: 'gw', region: 'eu', state: 'away', atMs: 1 }).success).toBe(
      false,
    );
    expect(
      commandSchema.safeParse({ id: 'c', type: 'pause', issuedAtMs: 1, expiresAtMs: 2, shell: 'x' }).success,
    ).toBe(false);
  });

  it('fills the default topics for a thing', () => {
    expect(cloudTopics('pump-7')).toEqual({
      batches: 'edgedr/pump-7/batches',
      presence: 'edgedr/pump-7/presence',
      probe: 'edgedr/pump-7/probe',
      commands: 'edgedr/pump-7/commands',
      commandReplies: 'edgedr/pump-7/commands/replies',
      shadowUpdate: '$aws/things/pump-7/shadow/name/edgedr-dr/update',
    });
  });
});
