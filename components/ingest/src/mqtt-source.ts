import { readFileSync } from 'node:fs';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../../../shared/src/logger';
import type { MqttSourceConfig } from './config';

export interface MqttSourceStatus {
  readonly connected: boolean;
  readonly reconnects: number;
  readonly received: number;
  /** Received and not yet acknowledged to the broker (waiting for their commit). */
  readonly unacknowledged: number;
}

/**
 * What happened to a reading: `kept` once it is committed to the store or dead-lettered with its
 * reason (then it is acknowledged to the broker); `not-kept` when neither happened (it is not
 * acknowledged, and the broker delivers it again after a reconnect).
 */
export type Settle = (outcome: 'kept' | 'not-kept') => void;

/** mqtt.js sends PUBACK once handleMessage calls back without an error; a deferral skips that. */
class Deferred extends Error {
  constructor() {
    super('acknowledged after the commit');
  }
}

interface Pending {
  readonly messageId: number | undefined;
  outcome: 'kept' | 'not-kept' | undefined;
}

/**
 * A local MQTT broker as a source, for sites whose devices publish to a broker that is not bridged
 * into Greengrass pub/sub. QoS 1 with a persistent session, so the broker keeps what arrives while we
 * reconnect; reconnects back off exponentially (with jitter) between reconnectMinMs and reconnectMaxMs.
 *
 * A reading is acknowledged (PUBACK) only once it is kept: committed to the store, or dead-lettered.
 * mqtt.js would acknowledge when its message handler returns and handles one message at a time until
 * then; here the handler returns at once (so messages keep flowing) and the PUBACK is sent later, in the
 * order the messages arrived (MQTT requires it). The broker stops sending once `maxUnackedMessages`
 * are outstanding (its own in-flight limit, or our receive maximum with MQTT 5): the store's pace
 * becomes the source's, with nothing dropped and nothing acknowledged that is not kept.
 */
export class MqttSource {
  private client: MqttClient | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connected = false;
  private reconnects = 0;
  private received = 0;
  private pending: Pending[] = [];
  private paused = false;

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly onMessage: (topic: string, payload: Buffer, settle: Settle) => void,
    private readonly logger: Logger,
    /** Called when the broker's window is full: commit what waits now rather than at the next flush. */
    private readonly onWindowFull: () => void = () => undefined,
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
      protocolVersion: c.protocolVersion === 5 ? 5 : 4,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0, // our own loop below backs off exponentially
      // MQTT 5: how many unacknowledged messages the broker may send us (a session that survives).
      ...(c.protocolVersion === 5
        ? { properties: { receiveMaximum: c.maxUnackedMessages, sessionExpiryInterval: 0xffffffff } }
        : {}),
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
    client.handleMessage = (packet, callback) => {
      // Paused (stopping): not taken, not acknowledged; the broker delivers it again next session.
      if (!this.paused) this.take(packet);
      // QoS 1: no PUBACK now (it follows the commit); QoS 0: nothing to acknowledge.
      callback(packet.qos === 1 ? new Deferred() : undefined);
    };
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
    client.on('error', (err) =>
      this.logger.warn({ err: { message: err.message } }, 'local MQTT source error'),
    );
    client.on('close', () => {
      if (this.connected)
        this.logger.warn({ broker: `${c.host}:${c.port}` }, 'local MQTT source disconnected');
      this.connected = false;
      // Unacknowledged messages are the broker's again (it resends them in the session): forget them,
      // so that a late commit does not acknowledge a packet id of the next connection.
      this.pending = [];
      this.scheduleReconnect();
    });
  }

  private take(packet: IPublishPacket): void {
    this.received += 1;
    const entry: Pending = { messageId: packet.qos === 1 ? packet.messageId : undefined, outcome: undefined };
    if (entry.messageId !== undefined) this.pending.push(entry);
    const pendingNow = this.pending;
    this.onMessage(packet.topic, packet.payload as Buffer, (outcome) => {
      entry.outcome = outcome;
      if (pendingNow === this.pending) this.acknowledgeReady();
    });
    if (this.pending.length >= this.config.maxUnackedMessages) this.onWindowFull();
  }

  /** PUBACKs for the kept messages at the head of the queue, in arrival order. */
  private acknowledgeReady(): void {
    const client = this.client;
    let n = 0;
    while (n < this.pending.length && this.pending[n]?.outcome !== undefined) {
      const entry = this.pending[n] as Pending;
      if (entry.outcome === 'not-kept') break; // left for the broker to resend after a reconnect
      if (client !== undefined && entry.messageId !== undefined) sendPuback(client, entry.messageId);
      n += 1;
    }
    if (n > 0) this.pending.splice(0, n);
    const head = this.pending[0];
    if (head?.outcome === 'not-kept' && this.client !== undefined) {
      // A reading that could not be kept blocks the acknowledgements behind it: reconnect, so that the
      // broker resends everything not acknowledged.
      this.logger.warn('a reading from the local broker could not be kept: reconnecting for redelivery');
      this.pending = [];
      this.client.stream.destroy();
    }
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
    return {
      connected: this.connected,
      reconnects: this.reconnects,
      received: this.received,
      unacknowledged: this.pending.length,
    };
  }

  /** Takes no more readings (they stay with the broker); those taken are still acknowledged when kept. */
  pause(): void {
    this.paused = true;
  }

  /** Ends the connection; call after what was taken has been committed, so it is acknowledged first. */
  async stop(): Promise<void> {
    this.paused = true;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    if (client !== undefined) await client.endAsync(false);
  }
}

/**
 * mqtt.js has no public call for a deferred PUBACK; its publish handler sends one through the same
 * internal `_sendPacket` (mqtt 5.x, src/lib/handlers/publish.ts). Kept in one place.
 */
function sendPuback(client: MqttClient, messageId: number): void {
  const send = (client as unknown as { _sendPacket?: (packet: object, cb: () => void) => void })._sendPacket;
  send?.call(client, { cmd: 'puback', messageId }, () => undefined);
}
