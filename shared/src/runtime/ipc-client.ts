// The IPC client's own module, not the SDK's index: the index loads every service client (MQTT,
// shadows, jobs, identity), which costs each component about 1 MB of heap it never uses.
import * as greengrasscoreipc from 'aws-iot-device-sdk-v2/dist/greengrasscoreipc';

/**
 * The SDK's Greengrass IPC client for a socket path and auth token (the nucleus passes them as
 * AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT and SVCUID). Not yet connected.
 */
export function createIpcClient(socketPath: string, authToken: string): greengrasscoreipc.Client {
  return greengrasscoreipc.createClient({
    // The SDK's defaults (a stream over a Unix domain socket), with our own path and token.
    ...greengrasscoreipc.createDefaultClientConfig(),
    hostName: socketPath,
    port: 0,
    connectTransform: (transform) => {
      transform.message.payload = JSON.stringify({ authToken });
      return Promise.resolve(transform.message);
    },
  });
}
