import { greengrasscoreipc, io } from 'aws-iot-device-sdk-v2';

/**
 * The SDK's Greengrass IPC client for a socket path and auth token (the nucleus passes them as
 * AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT and SVCUID). Not yet connected.
 */
export function createIpcClient(socketPath: string, authToken: string): greengrasscoreipc.Client {
  return greengrasscoreipc.createClient({
    hostName: socketPath,
    port: 0,
    socketOptions: new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.LOCAL),
    connectTransform: (transform) => {
      transform.message.payload = JSON.stringify({ authToken });
      return Promise.resolve(transform.message);
    },
  });
}
