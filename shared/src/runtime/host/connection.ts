import type { Socket } from 'node:net';
import type { Logger } from '../../logger';
import { FrameError, FrameParser } from '../eventstream/frame';
import {
  encodeRpcMessage,
  JSON_CONTENT_TYPE,
  MessageFlags,
  MessageType,
  RPC_VERSION,
  stringHeader,
  toRpcMessage,
  type RpcMessage,
} from '../eventstream/rpc';

/** What the host knows of the component behind a connection. */
export interface ConnectionIdentity {
  readonly component: string;
}

export interface OperationContext {
  readonly identity: ConnectionIdentity;
  readonly connection: IpcConnection;
  readonly streamId: number;
  /** The request frame's size on the wire. */
  readonly requestBytes: number;
}

/** Answers authentication and runs operations; implemented by the host. */
export interface ConnectionDelegate {
  authenticate(token: string): ConnectionIdentity | undefined;
  runOperation(operation: string, request: unknown, ctx: OperationContext): void;
  connectionClosed(connection: IpcConnection): void;
}

const EMPTY_JSON = '{}';

/** Limits that keep unauthenticated and misbehaving peers from holding the host's memory or sockets. */
export interface ConnectionLimits {
  /** Before the handshake: a Connect frame is a few hundred bytes. */
  readonly preAuthMaxFrameBytes: number;
  /** After it: enough to answer an oversized request with a modelled error, no more. */
  readonly maxFrameBytes: number;
  /** A peer that has not completed the handshake by then is disconnected. */
  readonly handshakeTimeoutMs: number;
  readonly maxPendingWriteBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  preAuthMaxFrameBytes: 16 * 1024,
  maxFrameBytes: 1024 * 1024,
  handshakeTimeoutMs: 5_000,
  maxPendingWriteBytes: 8 * 1024 * 1024,
};

/**
 * One client connection speaking event-stream RPC: incremental framing, the connect handshake with
 * token check, pings, stream bookkeeping. Any protocol violation closes this connection only.
 */
export class IpcConnection {
  identity: ConnectionIdentity | undefined;
  private readonly parser: FrameParser;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Streaming operations the client has open, by stream id: their cleanup. */
  private readonly streams = new Map<number, () => void>();
  private latestStreamId = 0;
  private closed = false;
  droppedEvents = 0;

  constructor(
    private readonly socket: Socket,
    private readonly delegate: ConnectionDelegate,
    private readonly log: Logger,
    private readonly limits: ConnectionLimits,
  ) {
    this.parser = new FrameParser(limits.preAuthMaxFrameBytes);
    this.handshakeTimer = setTimeout(() => {
      this.log.warn({ ms: limits.handshakeTimeoutMs }, 'closing IPC connection: no handshake in time');
      this.close();
    }, limits.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug({ err }, 'IPC socket error'));
    socket.on('close', () => this.teardown());
  }

  get component(): string {
    return this.identity?.component ?? '(unauthenticated)';
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const frame of this.parser.push(chunk)) this.onMessage(toRpcMessage(frame));
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.log.warn(
        { client: this.component, reason: err.message },
        'closing IPC connection: malformed frame',
      );
      this.close();
    }
  }

  private onMessage(msg: RpcMessage): void {
    if (this.identity === undefined) {
      this.onHandshake(msg);
      return;
    }
    switch (msg.type) {
      case MessageType.Ping:
        this.write({ type: MessageType.PingResponse, streamId: 0, payload: msg.payload });
        return;
      case MessageType.PingResponse:
        return;
      case MessageType.ApplicationMessage:
      case MessageType.ApplicationError:
        if (msg.streamId > 0) {
          this.onStreamMessage(msg);
          return;
        }
        break;
      default:
        break;
    }
    this.protocolError(`unexpected message type ${msg.type} on stream ${msg.streamId}`);
  }

  private onHandshake(msg: RpcMessage): void {
    if (msg.type !== MessageType.Connect || msg.streamId !== 0) {
      this.protocolError('the first message must be Connect');
      return;
    }
    const version = stringHeader(msg, ':version');
    let token: unknown;
    try {
      token = (JSON.parse(msg.payload.toString('utf8')) as { authToken?: unknown }).authToken;
    } catch {
      token = undefined;
    }
    const identity =
      version === RPC_VERSION && typeof token === 'string' ? this.delegate.authenticate(token) : undefined;
    if (identity === undefined) {
      this.log.warn({ version }, 'refusing IPC connection: bad version or unknown auth token');
      // ConnectAck without the accepted flag: the client reports a handshake error.
      this.write({ type: MessageType.ConnectAck, streamId: 0, flags: 0 });
      this.socket.end();
      this.closed = true;
      return;
    }
    this.identity = identity;
    clearTimeout(this.handshakeTimer);
    this.parser.maxFrameBytes = this.limits.maxFrameBytes;
    this.write({ type: MessageType.ConnectAck, streamId: 0, flags: MessageFlags.ConnectionAccepted });
    this.log.debug({ client: identity.component }, 'IPC client connected');
  }

  private onStreamMessage(msg: RpcMessage): void {
    const terminate = (msg.flags & MessageFlags.TerminateStream) !== 0;
    const open = this.streams.get(msg.streamId);
    if (open !== undefined) {
      // No operation here takes client-to-server stream messages; a terminate ends the stream.
      if (terminate) {
        this.streams.delete(msg.streamId);
        open();
      }
      return;
    }
    if (msg.streamId <= this.latestStreamId) return; // e.g. the client closing a finished request
    this.latestStreamId = msg.streamId;
    const operation = stringHeader(msg, 'operation');
    if (operation === undefined) {
      this.protocolError(`stream ${msg.streamId} opened without an operation header`);
      return;
    }
    let request: unknown;
    try {
      request = msg.payload.length === 0 ? {} : JSON.parse(msg.payload.toString('utf8'));
    } catch {
      request = undefined;
    }
    const identity = this.identity;
    if (identity === undefined) return;
    this.delegate.runOperation(operation, request, {
      identity,
      connection: this,
      streamId: msg.streamId,
      requestBytes: msg.byteLength,
    });
  }

  /** A successful response; non-streaming ones end the stream. */
  respond(streamId: number, shape: string, body: unknown, terminate: boolean): void {
    this.write({
      type: MessageType.ApplicationMessage,
      streamId,
      flags: terminate ? MessageFlags.TerminateStream : 0,
      strings: { ':content-type': JSON_CONTENT_TYPE, 'service-model-type': shape },
      payload: body === undefined ? EMPTY_JSON : JSON.stringify(body),
    });
  }

  /** A modelled error; it ends the stream. */
  fail(streamId: number, shape: string, message: string): void {
    const errorCode = shape.slice(shape.indexOf('#') + 1);
    this.streams.delete(streamId);
    this.write({
      type: MessageType.ApplicationError,
      streamId,
      flags: MessageFlags.TerminateStream,
      strings: { ':content-type': JSON_CONTENT_TYPE, 'service-model-type': shape },
      payload: JSON.stringify({
        message,
        _message: message,
        _errorCode: errorCode,
        _service: 'aws.greengrass#GreengrassCoreIPC',
      }),
    });
  }

  /** Registers an open streaming operation and its cleanup. */
  openStream(streamId: number, cleanup: () => void): void {
    this.streams.set(streamId, cleanup);
  }

  /**
   * An event on an open stream. When the client does not read fast enough the event is dropped and
   * counted, so one slow subscriber cannot grow the host's memory without bound.
   */
  sendEvent(streamId: number, shape: string, payload: string): boolean {
    if (!this.streams.has(streamId)) return false;
    if (this.socket.writableLength > this.limits.maxPendingWriteBytes) {
      this.droppedEvents += 1;
      return false;
    }
    this.write({
      type: MessageType.ApplicationMessage,
      streamId,
      strings: { ':content-type': JSON_CONTENT_TYPE, 'service-model-type': shape },
      payload,
    });
    return true;
  }

  /** Ends an open stream from the server side. */
  endStream(streamId: number): void {
    if (!this.streams.delete(streamId)) return;
    this.write({
      type: MessageType.ApplicationMessage,
      streamId,
      flags: MessageFlags.TerminateStream,
      payload: EMPTY_JSON,
    });
  }

  private protocolError(reason: string): void {
    this.log.warn({ client: this.component, reason }, 'closing IPC connection: protocol error');
    this.write({
      type: MessageType.ProtocolError,
      streamId: 0,
      payload: JSON.stringify({ message: reason }),
    });
    this.close();
  }

  private corked = false;

  /** Writes within one tick leave in one system call: a publish fans out to many streams at once. */
  private write(message: Parameters<typeof encodeRpcMessage>[0]): void {
    if (this.closed || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(encodeRpcMessage(message));
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    this.teardown();
  }

  private teardown(): void {
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    for (const cleanup of this.streams.values()) cleanup();
    this.streams.clear();
    this.delegate.connectionClosed(this);
  }
}
