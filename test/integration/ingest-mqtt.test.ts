import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
import { mosquitto, type Broker } from '../../dev/mosquitto';
import { makePki, tlsListenerConfig } from '../../dev/pki';
import { readStore } from '../support/store-reader';
import { useTempDir } from '../support/temp-dir';

const BUFFER = 'com.edgedr.Buffer';
const INGEST = 'com.edgedr.Ingest';

describe('Ingest with a local MQTT broker as a source', () => {
  let gw: LocalGateway | undefined;
  let broker: Broker | undefined;
  afterEach(async () => {
    await gw?.close();
    await broker?.stop();
  });
  const tempDir = useTempDir('ggdr-mqtt-');

  interface MqttStatus {
    connected?: boolean;
    received?: number;
    unacknowledged?: number;
  }

  /** A plain Mosquitto, and Buffer and Ingest with it as Ingest's only source; resolves once connected. */
  async function brokerAndIngest(clientId: string): Promise<{ g: LocalGateway; status: () => MqttStatus }> {
    broker = await mosquitto(tempDir());
    const g = await localGateway(tempDir(), {
      [INGEST]: {
        metricsIntervalMs: 200,
        sources: {
          ipcTopics: [],
          mqtt: {
            host: '127.0.0.1',
            port: broker.port,
            topics: ['sensors/#'],
            clientId,
            reconnectMinMs: 100,
            reconnectMaxMs: 400,
          },
        },
      },
    });
    gw = g;
    await g.launcher.launch([BUFFER, INGEST]);
    await g.launcher.waitForState(INGEST, 'RUNNING', 20_000);
    const status = (): MqttStatus => documents(g, 'edgedr/ingest/metrics').at(-1)?.['mqtt'] ?? {};
    await eventually(() => status().connected === true, 10_000, 'ingest connected to the broker');
    return { g, status };
  }

  it('stores readings published to a real Mosquitto, and reconnects after the broker restarts', async () => {
    const { g, status: mqttStatus } = await brokerAndIngest('ingest-test');
    const b = broker as Broker;
    const port = b.port;
    const storePath = join(g.launcher.workPath(BUFFER), 'store', 'records.db');

    const device = await mqtt.connectAsync({
      host: '127.0.0.1',
      port,
      clientId: 'device-1',
      reconnectPeriod: 200,
    });
    try {
      const now = Date.now();
      for (let n = 0; n < 50; n++) {
        await device.publishAsync(
          `sensors/pump-${n % 2}/pressure`,
          JSON.stringify({ ts: now + n, n, bar: 2 + n / 100 }),
          { qos: 1 },
        );
      }
      await device.publishAsync('sensors/pump-0/pressure', 'garbage', { qos: 1 });
      await eventually(() => readStore(storePath).records.length === 50, 10_000, 'MQTT readings stored');
      await eventually(() => readStore(storePath).deadLetters.length === 1, 10_000, 'garbage dead-lettered');
      const first = readStore(storePath);
      expect(first.records.map((r) => r.device_id).slice(0, 2)).toEqual(['pump-0', 'pump-1']);
      expect(first.deadLetters[0]).toMatchObject({ reason: 'not_json', source: 'sensors/pump-0/pressure' });

      // The broker goes away and comes back: Ingest reconnects and resumes.
      await b.stop('SIGKILL');
      await eventually(() => mqttStatus().connected === false, 10_000, 'ingest noticed the outage');
      await b.start();
      await eventually(() => mqttStatus().connected === true, 15_000, 'ingest reconnected');
      await eventually(() => device.connected, 10_000, 'device reconnected');
      await device.publishAsync('sensors/pump-0/pressure', JSON.stringify({ ts: Date.now(), n: 99 }), {
        qos: 1,
      });
      await eventually(() => readStore(storePath).records.length === 51, 10_000, 'reading after reconnect');
    } finally {
      await device.endAsync(true);
    }
  }, 90_000);

  it('acknowledges a reading to the broker only once it is committed: a killed Ingest loses none', async () => {
    const { g, status } = await brokerAndIngest('ingest-acks');
    const port = (broker as Broker).port;
    const storePath = join(g.launcher.workPath(BUFFER), 'store', 'records.db');

    // Another process holds the store's write lock: nothing can be committed meanwhile.
    const locker = new Database(storePath);
    locker.prepare('BEGIN IMMEDIATE').run();
    const device = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'device-acks' });
    try {
      const now = Date.now();
      for (let n = 0; n < 40; n++)
        await device.publishAsync(`sensors/pump-${n % 2}/pressure`, JSON.stringify({ ts: now + n, n }), {
          qos: 1,
        });
      await eventually(() => (status().received ?? 0) >= 40, 10_000, 'readings received');
      // Received, not committed, so not acknowledged; Ingest is killed before the lock goes.
      expect(status().unacknowledged).toBe(40);
      g.launcher.signal(INGEST, 'SIGKILL');
      await g.launcher.waitForState(INGEST, 'ERRORED', 10_000);
      locker.prepare('ROLLBACK').run();
      locker.close();
      await g.launcher.waitForState(INGEST, 'RUNNING', 20_000);
      // The broker delivers the unacknowledged readings again to the restarted Ingest: all 40 are stored.
      await eventually(
        () => readStore(storePath).records.length === 40,
        15_000,
        'redelivered readings stored',
      );
      const ns = readStore(storePath).records.map((r) => (JSON.parse(r.body) as { n: number }).n);
      expect(new Set(ns).size).toBe(40);
      await eventually(() => status().unacknowledged === 0, 10_000, 'all acknowledged after their commit');
    } finally {
      if (locker.open) {
        if (locker.inTransaction) locker.prepare('ROLLBACK').run();
        locker.close();
      }
      await device.endAsync(true);
    }
  }, 90_000);

  it('connects over TLS with a client certificate, and stays down but alive with the wrong CA', async () => {
    const pki = makePki(tempDir(), 'site', ['ingest', 'device']);
    const otherCa = makePki(tempDir(), 'other', []);
    broker = await mosquitto(tempDir(), tlsListenerConfig(pki));
    const port = broker.port;
    const client = pki.clients['ingest'] ?? { cert: '', key: '' };
    const tlsSource = (caPath: string) => ({
      host: '127.0.0.1',
      port,
      topics: ['sensors/#'],
      clientId: 'ingest-tls',
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      tls: { caPath, certPath: client.cert, keyPath: client.key },
    });
    gw = await localGateway(tempDir(), {
      [INGEST]: { metricsIntervalMs: 200, sources: { ipcTopics: [], mqtt: tlsSource(pki.caCert) } },
    });
    await gw.launcher.launch([BUFFER, INGEST]);
    await gw.launcher.waitForState(INGEST, 'RUNNING', 20_000);
    const g = gw;
    const status = (): { connected?: boolean } =>
      documents(g, 'edgedr/ingest/metrics').at(-1)?.['mqtt'] ?? {};
    await eventually(() => status().connected === true, 10_000, 'TLS connection');

    const deviceCert = pki.clients['device'] ?? { cert: '', key: '' };
    const device = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port,
      clientId: 'device-tls',
      ca: readFileSync(pki.caCert),
      cert: readFileSync(deviceCert.cert),
      key: readFileSync(deviceCert.key),
    });
    try {
      await device.publishAsync('sensors/pump-7/flow', JSON.stringify({ ts: Date.now(), lpm: 31 }), {
        qos: 1,
      });
      const storePath = join(gw.launcher.workPath(BUFFER), 'store', 'records.db');
      await eventually(() => readStore(storePath).records.length === 1, 10_000, 'TLS reading stored');
    } finally {
      await device.endAsync(true);
    }

    // A deployment that names the wrong CA: the source cannot verify the broker, reports it, keeps trying.
    const current = gw.host.component(INGEST)?.configuration ?? {};
    const sources = { ipcTopics: [], mqtt: tlsSource(otherCa.caCert) };
    expect((await gw.host.deploy(INGEST, { ...current, sources })).status).toBe('APPLIED');
    await eventually(() => status().connected === false, 10_000, 'disconnected with the wrong CA');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(status().connected).toBe(false);
    expect(gw.host.component(INGEST)?.state).toBe('RUNNING');
    expect(readFileSync(gw.launcher.logPath(INGEST), 'utf8')).toMatch(/local MQTT source error/);
  }, 90_000);
});
