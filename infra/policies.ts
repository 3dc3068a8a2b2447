import { replayConfigSchema, resolveTopics, type ReplayConfig } from '../components/replay/src/config';
import { regionClientIds } from '../components/replay/src/regions';

/**
 * The IoT policies of each region, from Replay's default topics so that they cannot drift apart:
 * the gateway's (least privilege for Replay's connection, the policy in docs/deployment.md) and the
 * operator tool's.
 */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Effect: 'Allow';
    readonly Action: string | readonly string[];
    readonly Resource: string | readonly string[];
  }[];
}

const THING = '${iot:Connection.Thing.ThingName}';
const defaults = replayConfigSchema.parse({});

function replayTopicsFor(thing: string): ReplayConfig['topics'] {
  return resolveTopics(defaults, thing);
}

/** The topics a thing's Replay uses, and the ones the cloud side watches (`+` for any thing). */
export const suiteTopics = {
  forThing: replayTopicsFor,
  anyThing: replayTopicsFor('+'),
  shadowName: defaults.shadow.name,
};

/**
 * Replay's connections in `region`: its own client ids (`<thing>-replay-<region>`, and
 * `…-drain-1` … `-drain-N` for its drain links), its batches, presence (retained, also as the will),
 * probes, command replies and DR shadow updates, and its commands. The thing variable resolves from the
 * certificate only when the certificate is attached to the thing as its exclusive thing (the client id
 * differs from the thing name: the nucleus uses that one).
 */
export function gatewayPolicy(region: string, account: string, drainLinks = 0): PolicyDocument {
  const arn = (kind: string, rest: string): string => `arn:aws:iot:${region}:${account}:${kind}/${rest}`;
  const t = replayTopicsFor(THING);
  const clients = regionClientIds({ clientId: `${THING}-replay-${region}`, drainLinks }).map((id) =>
    arn('client', id),
  );
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: clients.length === 1 ? clients[0]! : clients },
      {
        Effect: 'Allow',
        Action: ['iot:Publish', 'iot:RetainPublish'],
        Resource: [t.batches, t.presence, t.probe, t.commandReplies, t.shadowUpdate].map((x) =>
          arn('topic', x),
        ),
      },
      { Effect: 'Allow', Action: 'iot:Subscribe', Resource: arn('topicfilter', t.commands) },
      { Effect: 'Allow', Action: 'iot:Receive', Resource: arn('topic', t.commands) },
    ],
  };
}

/**
 * The operator tool (`edgedr`): connects as `edgedr-operator-*`, reads presence and command replies,
 * sends commands, and asks for the DR shadow. It cannot publish data, presence or shadow updates.
 */
export function operatorPolicy(region: string, account: string): PolicyDocument {
  const arn = (kind: string, rest: string): string => `arn:aws:iot:${region}:${account}:${kind}/${rest}`;
  const t = replayTopicsFor('*');
  const shadowGet = `$aws/things/*/shadow/name/${defaults.shadow.name}/get`;
  const readable = [t.presence, t.commandReplies, `${shadowGet}/accepted`, `${shadowGet}/rejected`];
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Connect', Resource: arn('client', 'edgedr-operator-*') },
      {
        Effect: 'Allow',
        Action: 'iot:Publish',
        Resource: [t.commands, shadowGet].map((x) => arn('topic', x)),
      },
      { Effect: 'Allow', Action: 'iot:Subscribe', Resource: readable.map((x) => arn('topicfilter', x)) },
      { Effect: 'Allow', Action: 'iot:Receive', Resource: readable.map((x) => arn('topic', x)) },
    ],
  };
}
