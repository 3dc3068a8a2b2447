/** A separate process that subscribes through the real SDK client and waits to be killed. */
import { greengrasscoreipc, io } from 'aws-iot-device-sdk-v2';

async function run(): Promise<void> {
  const [socketPath, token, topic] = process.argv.slice(2);
  if (socketPath === undefined || token === undefined || topic === undefined)
    throw new Error('usage: socket token topic');
  const client = greengrasscoreipc.createClient({
    hostName: socketPath,
    port: 0,
    socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.LOCAL),
    connectTransform: (t) => {
      t.message.payload = JSON.stringify({ authToken: token });
      return Promise.resolve(t.message);
    },
  });
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
