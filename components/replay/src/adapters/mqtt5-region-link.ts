import { io, iot, mqtt5 } from 'aws-iot-device-sdk-v2';
import type { Logger } from '../../../shared/src/logger';
import type { ReplayConfig } from './config';
import { resolveClientId, type RegionConfig } from './regions';
import { diagnoseRegion, type Diagnosis } from './tls-diagnosis';

export interface PublishOptions {
  readonly userProperties?: readonly { readonly name: string; readonly value: string }[];
  readonly correlationData?: Uint8Array;
  readonly contentType?: string;
}

export interface PublishOutcome {
  readonly reasonCode: number;
  readonly latencyMs: number;
}

export interface LinkEvents {
  connected(): void;
  disconnected(reason: string): void;
  /** A connection attempt failed; `diagnosis` names the cause (certificate problems are not retried). */
  connectFailed(diagnosis: Exclude<Diagnosis, { kind: 'ok' }>): void;
  message(topic: string, payload: Uint8Array, correlationData: Uint8Array | undefined): void;
}

export interface LinkTopics {
  readonly presence: string;
  readonly commands: string;
}

/** Raised when a publish fails without a PUBACK (ack timeout, connection lost, client stopped). */
export class PublishFailed extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
    this.name = 'PublishFailed';
  }
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'error' in err) return errorText(err.error);
  return String(err);
}

/**
 * One region's MQTT5 connection (aws-iot-device-sdk-v2, mutual TLS): presence as a retained message at
 * connect and as the will, the command subscription, and QoS1 publishes that resolve with the PUBACK
 * reason code. The client reconnects by itself with capped backoff; publishes fail (not queue) while
 * disconnected, because the caller resends from the store. A connection that fails, or has not succeeded
 * within connectTimeoutMs, is diagnosed with a TLS handshake of our own to name the cause.
 */
export class RegionLink {
  private client: mqtt5.Mqtt5Client | undefined;
  private connectedNow = false;
  private connectDeadline: NodeJS.Timeout | undefined;
  private diagnosing = false;
  private lastDiagnosisMs = 0;
  private stopped: Promise<void> | undefined;

  constructor(
    readonly region: RegionConfig,
    private readonly connection: ReplayConfig['connection'],
    private readonly topics: LinkTopics,
    private readonly thingName: string,
    private readonly events: LinkEvents,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.connectedNow;
  }

  get started(): boolean {
    return this.client !== undefined;
  }

  private presence(state: 'online' | 'offline'): Buffer {
    return utf8(JSON.stringify({ thing: this.thingName, region: this.region.name, state, atMs: Date.now() }));
  }

  private build(): mqtt5.Mqtt5Client {
    const r = this.region;
    const c = this.connection;
    const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
      r.endpoint,
      r.certificatePath,
      r.privateKeyPath,
    );
    builder.withCertificateAuthorityFromPath(undefined, r.caPath);
    builder.withPort(r.port);
    builder.withConnectProperties({
      clientId: resolveClientId(r.clientId, this.thingName),
      keepAliveIntervalSeconds: c.keepAliveSeconds,
      willDelayIntervalSeconds: 0,
      will: {
        topicName: this.topics.presence,
        qos: mqtt5.QoS.AtLeastOnce,
        retain: true,
        payload: this.presence('offline'),
        contentType: 'application/json',
      },
    });
    builder.withSessionBehavior(mqtt5.ClientSessionBehavior.Clean);
    builder.withOfflineQueueBehavior(mqtt5.ClientOperationQueueBehavior.FailAllOnDisconnect);
    builder.withPingTimeoutMs(c.pingTimeoutMs);
    builder.withAckTimeoutSeconds(c.ackTimeoutSeconds);
    builder.withConnackTimeoutMs(c.connectTimeoutMs);
    builder.withMinReconnectDelayMs(c.minReconnectDelayMs);
    builder.withMaxReconnectDelayMs(Math.max(c.minReconnectDelayMs, c.maxReconnectDelayMs));
    builder.withSocketOptions(
      new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV6, c.connectTimeoutMs),
    );
    if (!r.iotCoreFlowControl) {
      builder.withExtendedValidationAndFlowControlOptions(mqtt5.ClientExtendedValidationAndFlowControl.None);
    }
    return new mqtt5.Mqtt5Client(builder.build());
  }

  start(): void {
    if (this.client !== undefined) return;
    const client = this.build();
    this.client = client;
    client.on('connectionSuccess', () => {
      if (this.client !== client) return;
      clearTimeout(this.connectDeadline);
      this.connectedNow = true;
      this.onConnected(client);
    });
    client.on('connectionFailure', (event) => {
      if (this.client !== client) return;
      this.diagnose(errorText(event.error));
    });
    client.on('disconnection', (event) => {
      if (this.client !== client) return;
      const was = this.connectedNow;
      this.connectedNow = false;
      if (was) {
        this.events.disconnected(errorText(event.error));
        this.armDeadline();
      }
    });
    client.on('messageReceived', (event) => {
      const m = event.message;
      const payload = m.payload === undefined ? new Uint8Array() : new Uint8Array(m.payload as ArrayBuffer);
      const correlation =
        m.correlationData === undefined ? undefined : new Uint8Array(m.correlationData as ArrayBuffer);
      this.events.message(m.topicName, payload, correlation);
    });
    this.armDeadline();
    client.start();
  }

  private armDeadline(): void {
    clearTimeout(this.connectDeadline);
    this.connectDeadline = setTimeout(() => {
      if (!this.connectedNow && this.client !== undefined) this.diagnose('not connected in time');
    }, this.connection.connectTimeoutMs);
    this.connectDeadline.unref();
  }

  private onConnected(client: mqtt5.Mqtt5Client): void {
    this.events.connected();
    // Commands first, then presence (retained): "online" tells the cloud that commands can be sent now.
    const log = (msg: string) => (err: unknown) =>
      this.logger.warn({ region: this.region.name, err: errorText(err) }, msg);
    client
      .subscribe({ subscriptions: [{ topicFilter: this.topics.commands, qos: mqtt5.QoS.AtLeastOnce }] })
      .then((suback) => {
        const code: number = suback.reasonCodes[0] ?? 0x80;
        if (code > 0x02)
          this.logger.error(
            { region: this.region.name, topic: this.topics.commands, reasonCode: code },
            'the region refused the command subscription: commands cannot reach this gateway there',
          );
      }, log('command subscription failed'))
      .then(() =>
        client.publish({
          topicName: this.topics.presence,
          qos: mqtt5.QoS.AtLeastOnce,
          retain: true,
          payload: this.presence('online'),
          contentType: 'application/json',
        }),
      )
      .catch(log('presence not published'));
  }

  /** Names the cause of a failed connection, at most once per connect timeout. */
  private diagnose(clientError: string): void {
    const now = Date.now();
    if (this.diagnosing || now - this.lastDiagnosisMs < this.connection.connectTimeoutMs) return;
    this.diagnosing = true;
    this.lastDiagnosisMs = now;
    void diagnoseRegion(this.region, this.connection.connectTimeoutMs).then((d) => {
      this.diagnosing = false;
      if (this.client === undefined || this.connectedNow) return;
      this.events.connectFailed(
        d.kind === 'ok'
          ? { kind: 'network', cause: `MQTT connection failed after a good TLS handshake: ${clientError}` }
          : d,
      );
    });
  }

  /** A QoS1 publish; resolves with the PUBACK's reason code, rejects with PublishFailed without one. */
  async publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<PublishOutcome> {
    const client = this.client;
    if (client === undefined || !this.connectedNow)
      throw new PublishFailed(`region ${this.region.name} is not connected`, false);
    const started = performance.now();
    try {
      const result = await client.publish({
        topicName: topic,
        qos: mqtt5.QoS.AtLeastOnce,
        payload,
        ...(options.userProperties === undefined ? {} : { userProperties: [...options.userProperties] }),
        ...(options.correlationData === undefined ? {} : { correlationData: options.correlationData }),
        ...(options.contentType === undefined ? {} : { contentType: options.contentType }),
      });
      const reasonCode = result !== undefined && 'reasonCode' in result ? result.reasonCode : 0;
      return { reasonCode, latencyMs: performance.now() - started };
    } catch (err) {
      const text = errorText(err);
      throw new PublishFailed(text, /TIMEOUT/i.test(text));
    }
  }

  /** Publishes offline presence (a clean stop sends no will), then disconnects and frees the client. */
  stop(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    const client = this.client;
    clearTimeout(this.connectDeadline);
    if (client === undefined) return Promise.resolve();
    this.stopped = (async () => {
      if (this.connectedNow) {
        await Promise.race([
          client
            .publish({
              topicName: this.topics.presence,
              qos: mqtt5.QoS.AtLeastOnce,
              retain: true,
              payload: this.presence('offline'),
            })
            .catch(() => undefined),
          new Promise((r) => setTimeout(r, 1_000)),
        ]);
      }
      this.client = undefined;
      this.connectedNow = false;
      const done = new Promise<void>((resolve) => {
        client.once('stopped', () => resolve());
        setTimeout(resolve, 2_000).unref();
      });
      client.stop();
      await done;
      client.close();
    })().finally(() => {
      this.stopped = undefined;
    });
    return this.stopped;
  }
}
