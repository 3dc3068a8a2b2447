import mqtt, { type MqttClient } from 'mqtt';
import { localClientOptions } from './consumer';
import type { LocalRegion } from './regions';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Doc {
  state: { reported?: { [k: string]: Json }; desired?: { [k: string]: Json } };
  version: number;
  timestamp: number;
}

/** The topics the stand-in serves, and the ones an identity needs in a region's ACL to use it. */
export const SHADOW_SERVICE_TOPICS = [
  '$aws/things/+/shadow/name/+/update',
  '$aws/things/+/shadow/name/+/get',
];
export const SHADOW_SERVICE_ACL = ['$aws/things/+/shadow/#'];

/** IoT Core's merge: objects merge key by key, null deletes a key, anything else replaces. */
function merge(into: { [k: string]: Json } | undefined, patch: { [k: string]: Json }): { [k: string]: Json } {
  const out: { [k: string]: Json } = { ...(into ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof out[k] === 'object' &&
      out[k] !== null &&
      !Array.isArray(out[k])
    )
      out[k] = merge(out[k], v);
    else out[k] = v;
  }
  return out;
}

/**
 * The local stand-in for IoT Core's Device Shadow service on a local region (Mosquitto has none): named
 * shadows over the reserved MQTT topics. `.../update` merges `state.reported`/`state.desired` and answers
 * `update/accepted` (and `update/documents`) or `update/rejected`; `.../get` answers `get/accepted` with
 * the document, version and the caller's clientToken, or `get/rejected` with code 404 when there is no
 * shadow. So the operator tool uses the same protocol against the local regions as against IoT Core,
 * where the shadow is kept per region. Not covered: metadata, delta, delete, optimistic locking by
 * version, classic shadows' extra rules.
 */
export class ShadowService {
  private readonly docs = new Map<string, Doc>();

  private constructor(private readonly client: MqttClient) {}

  static async start(region: LocalRegion, identity: string): Promise<ShadowService> {
    const client = mqtt.connect({
      ...localClientOptions(region, identity, `shadow-service-${region.name}-${process.pid}`),
      rejectUnauthorized: true,
      reconnectPeriod: 200,
      clean: true,
    });
    const service = new ShadowService(client);
    client.on('message', (topic, payload) => service.onMessage(topic, payload));
    // A restarted broker keeps no sessions: subscribe on every connection.
    client.on('connect', () => client.subscribe(SHADOW_SERVICE_TOPICS, { qos: 1 }));
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () =>
        client.subscribe(SHADOW_SERVICE_TOPICS, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
      client.once('error', reject);
    });
    return service;
  }

  private reply(topic: string, body: unknown): void {
    this.client.publish(topic, JSON.stringify(body), { qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const m = /^\$aws\/things\/([^/]+)\/shadow\/name\/([^/]+)\/(update|get)$/.exec(topic);
    if (m === null) return;
    const key = `${m[1]}/${m[2]}`;
    const now = Math.floor(Date.now() / 1000);
    let request: { state?: Doc['state']; clientToken?: string } = {};
    try {
      request = payload.length === 0 ? {} : (JSON.parse(payload.toString('utf8')) as typeof request);
    } catch {
      this.reply(`${topic}/rejected`, {
        code: 400,
        message: 'Payload contains invalid json',
        timestamp: now,
      });
      return;
    }
    const token = typeof request.clientToken === 'string' ? { clientToken: request.clientToken } : {};
    const doc = this.docs.get(key);
    if (m[3] === 'get') {
      if (doc === undefined)
        this.reply(`${topic}/rejected`, {
          code: 404,
          message: `No shadow exists with name: '${m[2]}'`,
          timestamp: now,
          ...token,
        });
      else
        this.reply(`${topic}/accepted`, {
          state: doc.state,
          version: doc.version,
          timestamp: doc.timestamp,
          ...token,
        });
      return;
    }
    const state = request.state;
    if (state === undefined || typeof state !== 'object' || state === null) {
      this.reply(`${topic}/rejected`, {
        code: 400,
        message: 'Missing required node: state',
        timestamp: now,
        ...token,
      });
      return;
    }
    const next: Doc = {
      state: {
        ...(doc?.state ?? {}),
        ...(state.reported === undefined ? {} : { reported: merge(doc?.state.reported, state.reported) }),
        ...(state.desired === undefined ? {} : { desired: merge(doc?.state.desired, state.desired) }),
      },
      version: (doc?.version ?? 0) + 1,
      timestamp: now,
    };
    this.docs.set(key, next);
    this.reply(`${topic}/accepted`, { state, version: next.version, timestamp: now, ...token });
    this.reply(`${topic}/documents`, { previous: doc ?? null, current: next, timestamp: now });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.client.end(true, {}, () => resolve()));
  }
}
