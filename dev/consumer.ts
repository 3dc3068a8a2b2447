import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { decodeEnvelope, type EnvelopeHeader } from '../shared/src/envelope';
import type { DrRecord } from '../shared/src/record';
import type { LocalRegion } from './regions';

export interface ReceivedBatch {
  readonly region: string;
  readonly header: EnvelopeHeader;
  readonly records: readonly DrRecord[];
  readonly userProperties: Readonly<Record<string, string | string[]>>;
  readonly payloadBytes: number;
  readonly atMs: number;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly correlationData: Buffer | undefined;
  readonly atMs: number;
}

/** MQTT 5 over TLS to a local region's cloud-side listener as one of its certificate identities. */
export function localClientOptions(
  region: LocalRegion,
  identity: string,
  clientId: string,
): mqtt.IClientOptions {
  const files = region.files(identity);
  return {
    host: region.cloudEndpoint.host,
    port: region.cloudEndpoint.port,
    protocol: 'mqtts',
    protocolVersion: 5,
    clientId,
    ca: readFileSync(files.caPath),
    cert: readFileSync(files.certificatePath),
    key: readFileSync(files.privateKeyPath),
  };
}

/**
 * The cloud side of a local region: an MQTT 5 client with its own certificate that receives batches
 * (decoded with the suite's envelope decoder), presence, shadow updates and command replies, and can
 * send commands. What an IoT rule plus a consumer would do in a real region, for tests and the demo.
 */
export class RegionConsumer {
  readonly batches: ReceivedBatch[] = [];
  readonly messages: ReceivedMessage[] = [];
  /** Payloads that did not decode, with the reason. */
  readonly undecodable: { topic: string; reason: string }[] = [];
  private listeners: ((m: ReceivedMessage) => void)[] = [];
  private subscribedNow = false;

  /**
   * Connected and subscribed. A broker that restarts has no sessions: what reaches it before the
   * consumer has subscribed again goes to nobody (as with no rule in a region), so tests that restart
   * a region wait for this before letting traffic go there.
   */
  get subscribed(): boolean {
    return this.subscribedNow;
  }

  private constructor(
    readonly region: string,
    private readonly client: MqttClient,
  ) {}

  static async connect(
    region: LocalRegion,
    identity: string,
    topics: readonly string[],
  ): Promise<RegionConsumer> {
    const client = mqtt.connect({
      ...localClientOptions(region, identity, `${identity}-${region.name}-${process.pid}`),
      rejectUnauthorized: true,
      reconnectPeriod: 100,
      connectTimeout: 5_000,
      clean: true,
    });
    const consumer = new RegionConsumer(region.name, client);
    client.on('message', (topic, payload, packet) => consumer.onMessage(topic, payload, packet));
    // Subscribe on every (re)connection: a restarted broker has no sessions.
    client.on('connect', () => {
      client.subscribe([...topics], { qos: 1 }, (err) => {
        if (!err) consumer.subscribedNow = true;
      });
    });
    client.on('close', () => {
      consumer.subscribedNow = false;
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => {
        client.subscribe([...topics], { qos: 1 }, (err) => (err ? reject(err) : resolve()));
      });
      client.once('error', reject);
    });
    return consumer;
  }

  private onMessage(topic: string, payload: Buffer, packet: mqtt.IPublishPacket): void {
    const props = packet.properties ?? {};
    const message: ReceivedMessage = {
      topic,
      payload,
      retain: packet.retain,
      correlationData: props.correlationData,
      atMs: Date.now(),
    };
    this.messages.push(message);
    if (topic.endsWith('/batches')) {
      try {
        const { header, records } = decodeEnvelope(payload);
        this.batches.push({
          region: this.region,
          header,
          records,
          userProperties: props.userProperties ?? {},
          payloadBytes: payload.length,
          atMs: message.atMs,
        });
      } catch (err) {
        this.undecodable.push({ topic, reason: (err as Error).message });
      }
    }
    for (const l of this.listeners) l(message);
  }

  /** Messages on one topic, parsed as JSON. */
  json(topic: string): Record<string, unknown>[] {
    return this.messages
      .filter((m) => m.topic === topic)
      .map((m) => JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>);
  }

  records(): DrRecord[] {
    return this.batches.flatMap((b) => b.records);
  }

  onMessageReceived(listener: (m: ReceivedMessage) => void): void {
    this.listeners.push(listener);
  }

  publish(topic: string, payload: string | Buffer, correlationData?: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(
        topic,
        payload,
        { qos: 1, ...(correlationData === undefined ? {} : { properties: { correlationData } }) },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.client.end(true, {}, () => resolve()));
  }
}
