import { createServer, type Server } from 'node:net';
import { STATUS_COMPONENT_NAME as STATUS, statusPageUrl } from '../../dev/suite';
import { localGateway, type LocalGateway } from '../support/launch';
import { useTempDir } from '../support/temp-dir';

/**
 * The status page from its recipe under the local IPC host when its port is taken: it says why it is not
 * listening (which `npm start -- --status` shows), keeps running, and listens once the port is free.
 */
jest.setTimeout(90_000);

function occupy(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve({ server, port: address.port });
    });
  });
}

describe('the status page on a port that is taken', () => {
  const tempDir = useTempDir('edgedr-status-listen-');
  let gw: LocalGateway | undefined;
  let holder: Server | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await new Promise<void>((r) => (holder?.listening === true ? holder.close(() => r()) : r()));
    holder = undefined;
  });

  it('names the port in use, stays running, and listens there once the port is free', async () => {
    const taken = await occupy();
    holder = taken.server;
    gw = await localGateway(tempDir(), { [STATUS]: { port: taken.port } });
    await gw.launcher.launch([STATUS]);
    await gw.launcher.waitForState(STATUS, 'RUNNING', 60_000);
    const log = gw.launcher.logPath(STATUS);

    await expect(statusPageUrl(log, 30_000)).rejects.toThrow(
      new RegExp(
        `the status page is not listening: cannot listen on 127\\.0\\.0\\.1:${taken.port}: .*EADDRINUSE`,
      ),
    );
    expect(gw.host.component(STATUS)?.state).toBe('RUNNING');

    await new Promise<void>((r) => taken.server.close(() => r()));
    // Until the page listens, the helper throws on the earlier refusal; then it finds the listening line.
    const url = await waitForListening(log);
    expect(url).toBe(`http://127.0.0.1:${taken.port}/`);
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('Edge DR');
  });
});

async function waitForListening(logPath: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await statusPageUrl(logPath, 1_000);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
