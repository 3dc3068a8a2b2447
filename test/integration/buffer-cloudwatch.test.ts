import { jsonMessageProblem } from '../../shared/src/messages/ipc-limits';
import { connectClient, eventually, pubsubAcl } from '../support/ipc';
import { documents, localGateway, type LocalGateway } from '../support/launch';
import { useTempDir } from '../support/temp-dir';

const BUFFER = 'com.edgedr.Buffer';
const PUT = 'cloudwatch/metric/put';

describe('the Buffer publishing CloudWatch metrics for aws.greengrass.Cloudwatch (optional)', () => {
  let gw: LocalGateway;
  afterEach(async () => {
    await gw.close();
  });
  const tempDir = useTempDir('ggdr-buf-cw-');

  it('off by default; when on, one request per metric from the store, Replay status and Inference alerts', async () => {
    gw = await localGateway(tempDir(), { [BUFFER]: { cloudwatch: { enabled: true, intervalMs: 1_000 } } });
    // Stand-ins for Replay and Inference publishing on the suite's topics.
    const token = gw.host.addComponent('com.test.Suite', {
      accessControl: pubsubAcl(['edgedr/replay/status', 'edgedr/inference/alerts'], []),
    }).token;
    await gw.launcher.launch([BUFFER]);
    await gw.launcher.waitForState(BUFFER, 'RUNNING', 20_000);
    const client = await connectClient(gw.host, token);
    try {
      const publish = (topic: string, message: unknown) =>
        client.publishToTopic({ topic, publishMessage: { jsonMessage: { message } } });
      // Replay sends its status as a JSON document in a binary message; a JSON message is read too.
      const status = {
        regionHealth: { 'eu-west-1': { status: 'healthy' }, 'eu-central-1': { status: 'healthy' } },
        switches: { failover: 0 },
      };
      await client.publishToTopic({
        topic: 'edgedr/replay/status',
        publishMessage: { binaryMessage: { message: Buffer.from(JSON.stringify(status)) } },
      });
      await publish('edgedr/inference/alerts', { state: 'onset', asset: 'pump-1' });
      await eventually(
        () => documents(gw, PUT).some((m) => JSON.stringify(m).includes('"Anomalies","value":1')),
        15_000,
        'an Anomalies metric of 1',
      );
      const requests = documents(gw, PUT) as {
        request: { namespace: string; metricData: Record<string, unknown> };
      }[];
      const names = new Set(requests.map((r) => r.request.metricData['metricName']));
      for (const n of [
        'BacklogRecords',
        'OldestRecordAgeMs',
        'DeadLetters',
        'HealthyRegions',
        'Failovers',
        'Anomalies',
      ])
        expect(names.has(n)).toBe(true);
      expect(
        requests.find((r) => r.request.metricData['metricName'] === 'HealthyRegions')?.request,
      ).toMatchObject({
        namespace: 'EdgeDR',
        metricData: { value: 2, unit: 'Count', dimensions: [{ name: 'Thing', value: 'gw-test' }] },
      });
      for (const r of requests) expect(jsonMessageProblem(PUT, r)).toBeUndefined();
    } finally {
      await client.close();
    }
    // Turned off by a deployment: no more requests.
    const current = gw.host.component(BUFFER)?.configuration ?? {};
    expect((await gw.host.deploy(BUFFER, { ...current, cloudwatch: { enabled: false } })).status).toBe(
      'APPLIED',
    );
    await new Promise((r) => setTimeout(r, 300));
    const after = documents(gw, PUT).length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(documents(gw, PUT).length).toBe(after);
  });
});
