import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { OperatorRegion } from './config';

export interface Received {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly correlationData: Buffer | undefined;
}

/**
 * One MQTT 5 connection to a region as the operator (mutual TLS with the operator's certificate for that
 * region). Subscriptions are awaited before anything is published, so no answer can be missed.
 */
export class RegionSession {
  private readonly listeners = new Set<(m: Received) => void>();

  private constructor(
    readonly region: string,
    private readonly client: MqttClient,
  ) {
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      const m = {
        topic,
        payload,
        retain: packet.retain,
        correlationData: packet.properties?.correlationData,
      };
      for (const l of this.listeners) l(m);
    });
  }

  static connect(region: OperatorRegion, connectMs: number): Promise<RegionSession> {
    let files: { ca: Buffer; cert: Buffer; key: Buffer };
    try {
      files = {
        ca: readFileSync(region.caPath),
        cert: readFileSync(region.certificatePath),
        key: readFileSync(region.privateKeyPath),
      };
    } catch (err) {
      return Promise.reject(new Error(`region ${region.name}: ${(err as Error).message}`, { cause: err }));
    }
    const client = mqtt.connect({
      host: region.endpoint,
      port: region.port,
      protocol: 'mqtts',
      protocolVersion: 5,
      clientId: region.clientId ?? `edgedr-operator-${randomBytes(4).toString('hex')}`,
      ...files,
      servername: region.endpoint,
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: connectMs,
      clean: true,
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`not connected within ${connectMs} ms`)),
        connectMs + 100,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        client.end(true);
        reject(
          new Error(`region ${region.name} (${region.endpoint}:${region.port}): ${err.message}`, {
            cause: err,
          }),
        );
      };
      client.once('connect', () => {
        clearTimeout(timer);
        resolve(new RegionSession(region.name, client));
      });
      client.once('error', fail);
      client.once('close', () => fail(new Error('connection closed')));
    });
  }

  subscribe(filters: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.subscribe([...filters], { qos: 1 }, (err, granted) => {
        if (err) return reject(err);
        const refused = (granted ?? []).filter((g) => g.qos > 2);
        if (refused.length > 0)
          return reject(
            new Error(
              `region ${this.region} refused the subscription to ${refused.map((g) => g.topic).join(', ')}: check the operator policy`,
            ),
          );
        resolve();
      });
    });
  }

  publish(
    topic: string,
    payload: string,
    properties: { correlationData?: Buffer; messageExpiryInterval?: number; responseTopic?: string } = {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(
        topic,
        payload,
        { qos: 1, properties: { contentType: 'application/json', ...properties } },
        (err, packet) => {
          if (err) return reject(err);
          const code = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
          if (code >= 0x80)
            return reject(
              new Error(
                `region ${this.region} refused the publish to ${topic} (0x${code.toString(16)}): check the operator policy`,
              ),
            );
          resolve();
        },
      );
    });
  }

  /** Messages matching `accept` from now on, until `ms` pass or `enough` says so. */
  collect(
    accept: (m: Received) => boolean,
    ms: number,
    enough: (got: Received[]) => boolean = () => false,
  ): Promise<Received[]> {
    const got: Received[] = [];
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(got);
      };
      const listener = (m: Received): void => {
        if (!accept(m)) return;
        got.push(m);
        if (enough(got)) done();
      };
      const timer = setTimeout(done, ms);
      this.listeners.add(listener);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.client.end(false, {}, () => resolve()));
  }
}
