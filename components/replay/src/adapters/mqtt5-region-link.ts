import { io, iot, mqtt5 } from 'aws-iot-device-sdk-v2';
import type { Clock } from '../../../../shared/src/clock';
import type { Logger } from '../../../../shared/src/logger';
import type { Presence } from '../../../../shared/src/messages/cloud';
import {
  PublishFailed,
  type LinkEvents,
  type LinkSpec,
  type PublishOptions,
  type PublishOutcome,
  type RegionLink,
} from '../ports';
import { linkClientId, resolveClientId } from '../regions';
import type { Diagnosis } from './tls-diagnosis';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'error' in err) return errorText(err.error);
  return String(err);
}

export interface Mqtt5LinkDeps {
  readonly thingName: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Names the cause of a failed connection (TLS diagnosis). */
  readonly diagnose: (spec: LinkSpec, timeoutMs: number) => Promise<Diagnosis>;
}

/**
 * One MQTT5 connection to a region (aws-iot-device-sdk-v2, mutual TLS). The primary connection
 * (slot 0) publishes retained presence at connect and as its will, and subscribes to commands; drain
 * links (slot 1..n, client id `<clientId>-drain-<n>`) only publish batches. QoS1 publishes resolve with
 * the PUBACK reason code. The client reconnects by itself with capped backoff; publishes fail (not queue)
 * while disconnected, because the caller resends from the store. A connection that fails, or has not
 * succeeded within connectTimeoutMs, is diagnosed with a TLS handshake of our own to name the cause.
 */
export class Mqtt5RegionLink implements RegionLink {
  private client: mqtt5.Mqtt5Client | undefined;
  private connectedNow = false;
  private connectDeadline: NodeJS.Timeout | undefined;
  private diagnosing = false;
  private lastDiagnosisMs = -Infinity;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly spec: LinkSpec,
    private readonly events: LinkEvents,
    private readonly deps: Mqtt5LinkDeps,
  ) {}

  get connected(): boolean {
    return this.connectedNow;
  }

  private get primary(): boolean {
    return this.spec.slot === 0;
  }

  private presence(state: Presence['state']): Buffer {
    const p: Presence = {
      thing: this.deps.thingName,
      region: this.spec.region.name,
      state,
      atMs: this.deps.clock.nowMs(),
    };
    return utf8(JSON.stringify(p));
  }

  private build(): mqtt5.Mqtt5Client {
    const r = this.spec.region;
    const c = this.spec.connection;
    const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
      r.endpoint,
      r.certificatePath,
      r.privateKeyPath,
    );
    builder.withCertificateAuthorityFromPath(undefined, r.caPath);
    builder.withPort(r.port);
    builder.withConnectProperties({
      clientId: resolveClientId(linkClientId(r.clientId, this.spec.slot), this.deps.thingName),
      keepAliveIntervalSeconds: c.keepAliveSeconds,
      ...(this.primary
        ? {
            willDelayIntervalSeconds: 0,
            will: {
              topicName: this.spec.topics.presence,
              qos: mqtt5.QoS.AtLeastOnce,
              retain: true,
              payload: this.presence('offline'),
              contentType: 'application/json',
            },
          }
        : {}),
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
    }, this.spec.connection.connectTimeoutMs);
    this.connectDeadline.unref();
  }

  private onConnected(client: mqtt5.Mqtt5Client): void {
    this.events.connected();
    if (!this.primary) return;
    // Commands first, then presence (retained): "online" tells the cloud that commands can be sent now.
    const region = this.spec.region.name;
    const log = (msg: string) => (err: unknown) =>
      this.deps.logger.warn({ region, err: errorText(err) }, msg);
    client
      .subscribe({
        subscriptions: [{ topicFilter: this.spec.topics.commands, qos: mqtt5.QoS.AtLeastOnce }],
      })
      .then((suback) => {
        const code: number = suback.reasonCodes[0] ?? 0x80;
        if (code > 0x02)
          this.deps.logger.error(
            { region, topic: this.spec.topics.commands, reasonCode: code },
            'the region refused the command subscription: commands cannot reach this gateway there',
          );
      }, log('command subscription failed'))
      .then(() =>
        client.publish({
          topicName: this.spec.topics.presence,
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
    const now = this.deps.clock.monotonicMs();
    if (this.diagnosing || now - this.lastDiagnosisMs < this.spec.connection.connectTimeoutMs) return;
    this.diagnosing = true;
    this.lastDiagnosisMs = now;
    void this.deps.diagnose(this.spec, this.spec.connection.connectTimeoutMs).then((d) => {
      this.diagnosing = false;
      if (this.client === undefined || this.connectedNow) return;
      this.events.connectFailed(
        d.kind === 'ok'
          ? { kind: 'network', cause: `MQTT connection failed after a good TLS handshake: ${clientError}` }
          : d,
      );
    });
  }

  async publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<PublishOutcome> {
    const client = this.client;
    if (client === undefined || !this.connectedNow)
      throw new PublishFailed(`link ${this.spec.region.name}/${this.spec.slot} is not connected`, false);
    const started = this.deps.clock.monotonicMs();
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
      return { reasonCode, latencyMs: this.deps.clock.monotonicMs() - started };
    } catch (err) {
      const text = errorText(err);
      throw new PublishFailed(text, /TIMEOUT/i.test(text));
    }
  }

  /** A primary link publishes offline presence first (a clean stop sends no will). */
  stop(): Promise<void> {
    if (this.stopped !== undefined) return this.stopped;
    const client = this.client;
    clearTimeout(this.connectDeadline);
    if (client === undefined) return Promise.resolve();
    this.stopped = (async () => {
      if (this.connectedNow && this.primary) {
        await Promise.race([
          client
            .publish({
              topicName: this.spec.topics.presence,
              qos: mqtt5.QoS.AtLeastOnce,
              retain: true,
              payload: this.presence('offline'),
            })
            .catch(() => undefined),
          this.deps.clock.sleep(1_000),
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
