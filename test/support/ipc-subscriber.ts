/** A separate process that subscribes through the real SDK client and waits to be killed. */
import { createIpcClient } from '../../shared/src/runtime/ipc-client';

async function run(): Promise<void> {
  const [socketPath, token, topic] = process.argv.slice(2);
  if (socketPath === undefined || token === undefined || topic === undefined)
    throw new Error('usage: socket token topic');
  const client = createIpcClient(socketPath, token);
  await client.connect();
  const sub = client.subscribeToTopic({ topic });
  await sub.activate();
  process.stdout.write('subscribed\n');
  setInterval(() => undefined, 1_000); // stay until killed
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
