import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../../../shared/src/logger';
import type { MqttSourceConfig } from './config';

export interface MqttSourceStatus {
  readonly connected: boolean;
  readonly reconnects: number;
  readonly received: number;
}

/**
 * A local MQTT broker as a source, for sites whose devices publish to a broker that is not bridged
 * into Greengrass pub/sub. QoS 1 with a persistent session, so the broker keeps what arrives while we
 * reconnect; reconnects back off exponentially (with jitter) between reconnectMinMs and reconnectMaxMs.
 */
export class MqttSource {
  private client: MqttClient | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connected = false;
  private reconnects = 0;
  private received = 0;

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly onMessage: (topic: string, payload: Buffer) => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const c = this.config;
    const tls = c.tls;
    const client = mqtt.connect({
      protocol: tls === undefined ? 'mqtt' : 'mqtts',
      host: c.host,
      port: c.port,
      clientId: c.clientId,
      clean: false,
      protocolVersion: 4,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // our own loop below backs off exponentially
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.passwordPath === undefined ? {} : { password: readFileSync(c.passwordPath, 'utf8').trim() }),
      ...(tls === undefined
        ? {}
        : {
            ca: readFileSync(tls.caPath),
            ...(tls.certPath === undefined ? {} : { cert: readFileSync(tls.certPath) }),
            ...(tls.keyPath === undefined ? {} : { key: readFileSync(tls.keyPath) }),
            rejectUnauthorized: tls.rejectUnauthorized,
          }),
    });
    this.client = client;
    client.on('connect', (connack) => {
      this.connected = true;
      this.attempt = 0;
      this.logger.info(
        { broker: `${c.host}:${c.port}`, sessionPresent: connack.sessionPresent },
        'local MQTT source connected',
      );
      if (!connack.sessionPresent) {
        client.subscribe(
          c.topics.map((t) => t),
          { qos: 1 },
          (err) => {
            if (err !== null && err !== undefined)
              this.logger.error({ err }, 'local MQTT subscription failed');
          },
        );
      }
    });
    client.on('message', (topic, payload) => {
      this.received += 1;
      this.onMessage(topic, payload);
    });
    client.on('error', (err) =>
      this.logger.warn({ err: { message: err.message } }, 'local MQTT source error'),
    );
    client.on('close', () => {
      if (this.connected)
        this.logger.warn({ broker: `${c.host}:${c.port}` }, 'local MQTT source disconnected');
      this.connected = false;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    const { reconnectMinMs, reconnectMaxMs } = this.config;
    const ceiling = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.reconnects += 1;
      this.client?.reconnect();
    }, delay);
  }

  status(): MqttSourceStatus {
    return { connected: this.connected, reconnects: this.reconnects, received: this.received };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    if (client !== undefined) await client.endAsync(true);
  }
}
