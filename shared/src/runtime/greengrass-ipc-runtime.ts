import type * as eventstream_rpc from 'aws-iot-device-sdk-v2/dist/eventstream_rpc';
import * as greengrasscoreipc from 'aws-iot-device-sdk-v2/dist/greengrasscoreipc';
import { DrError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import { binaryMessageProblem, jsonMessageProblem } from '../messages/ipc-limits';
import { createIpcClient } from './ipc-client';
import type { LocalMessage, LocalRuntime, ReportedState, Subscription, ValidationVerdict } from './port';

type IpcClient = greengrasscoreipc.Client;
const model = greengrasscoreipc.model;

export interface GreengrassIpcOptions {
  readonly componentName: string;
  readonly logger: Logger;
  /** Defaults: the variables the nucleus sets for a component process (GREENGRASS.md). */
  readonly socketPath?: string;
  readonly authToken?: string;
  readonly thingName?: string;
  readonly workDir?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  UnauthorizedError: 'IPC_UNAUTHORIZED',
  ResourceNotFoundError: 'IPC_NOT_FOUND',
  InvalidArgumentsError: 'IPC_INVALID_ARGUMENT',
  ServiceError: 'IPC_FAILED',
};

/** Translates the SDK's RpcError into the suite's codes, keeping SDK types out of components. */
export function ipcError(err: unknown, action: string): DrError {
  if (err instanceof DrError) return err;
  const rpc = err as {
    serviceError?: { message?: string; _message?: string; _errorCode?: string };
    description?: string;
    message?: string;
  };
  const service = rpc.serviceError;
  if (service !== undefined) {
    const code = ERROR_CODES[service._errorCode ?? ''] ?? 'IPC_FAILED';
    // The nucleus's text is in `_message` (nucleus lite sends only that); `message` may be empty.
    const text = [service._message, service.message, service._errorCode].find(
      (t) => typeof t === 'string' && t !== '',
    );
    return new DrError(code, `${action}: ${text ?? 'service error (no message)'}`, { cause: err });
  }
  return new DrError('IPC_FAILED', `${action}: ${rpc.description ?? rpc.message ?? String(err)}`, {
    cause: err,
  });
}

function tooLarge(topic: string, problem: string | undefined): void {
  if (problem !== undefined)
    throw new DrError('IPC_MESSAGE_TOO_LARGE', `message on ${topic} not sent: ${problem}`, {
      details: { topic },
    });
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') {
    throw new DrError('IPC_CONNECT_FAILED', `${name} is not set: is this process running under Greengrass?`);
  }
  return value;
}

/** The production LocalRuntime: the aws-iot-device-sdk-v2 Greengrass IPC client. */
export class GreengrassIpcRuntime implements LocalRuntime {
  readonly componentName: string;
  readonly thingName: string;
  readonly workDir: string;
  private readonly logger: Logger;
  private lostHandlers: ((error: DrError) => void)[] = [];
  private closing = false;
  private lost = false;

  private constructor(
    private readonly client: IpcClient,
    options: GreengrassIpcOptions,
    env: NodeJS.ProcessEnv,
  ) {
    this.componentName = options.componentName;
    this.thingName = options.thingName ?? env['AWS_IOT_THING_NAME'] ?? 'unknown-thing';
    this.workDir = options.workDir ?? process.cwd();
    this.logger = options.logger;
    client.on('disconnection', () => this.markLost('the IPC connection closed'));
  }

  static async connect(options: GreengrassIpcOptions): Promise<GreengrassIpcRuntime> {
    const env = options.env ?? process.env;
    const socketPath =
      options.socketPath ??
      required(
        env['AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT'],
        'AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT',
      );
    const authToken = options.authToken ?? required(env['SVCUID'], 'SVCUID');
    const client = createIpcClient(socketPath, authToken);
    try {
      await client.connect();
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new DrError('IPC_CONNECT_FAILED', `could not connect to Greengrass IPC at ${socketPath}`, {
        cause: err,
      });
    }
    options.logger.debug({ socketPath }, 'connected to Greengrass IPC');
    return new GreengrassIpcRuntime(client, options, env);
  }

  private markLost(reason: string): void {
    if (this.closing || this.lost) return;
    this.lost = true;
    const err = new DrError('IPC_LOST', reason);
    this.logger.warn({ code: err.code, reason }, 'Greengrass IPC connection lost');
    for (const h of this.lostHandlers) h(err);
  }

  onLost(handler: (error: DrError) => void): void {
    this.lostHandlers.push(handler);
  }

  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw ipcError(err, action);
    }
  }

  async publishJson(topic: string, message: unknown): Promise<void> {
    tooLarge(topic, jsonMessageProblem(topic, message));
    await this.call(`publish to ${topic}`, () =>
      this.client.publishToTopic({ topic, publishMessage: { jsonMessage: { message } } }),
    );
  }

  async publishBinary(topic: string, bytes: Uint8Array): Promise<void> {
    tooLarge(topic, binaryMessageProblem(topic, bytes.byteLength));
    await this.call(`publish to ${topic}`, () =>
      this.client.publishToTopic({
        topic,
        publishMessage: { binaryMessage: { message: Buffer.from(bytes) } },
      }),
    );
  }

  /**
   * Opens a streaming operation. A stream the server ends while we still want it means Greengrass
   * dropped our subscription: treated like a lost connection, so the nucleus restarts us cleanly.
   */
  private async openStream<Req, Res, Out, In>(
    action: string,
    operation: eventstream_rpc.StreamingOperation<Req, Res, Out, In>,
  ): Promise<Subscription> {
    let closedByUs = false;
    operation.on('ended', () => {
      if (!closedByUs) this.markLost(`${action}: the stream was ended by Greengrass`);
    });
    try {
      await this.call(action, () => operation.activate());
    } catch (err) {
      // A refused stream is ended by the SDK too: that is this refusal, not a lost connection.
      closedByUs = true;
      throw err;
    }
    return {
      close: async () => {
        closedByUs = true;
        await operation.close();
      },
    };
  }

  async subscribe(
    topicFilter: string,
    onMessage: (message: LocalMessage) => void,
    options: { readonly includeOwn?: boolean } = {},
  ): Promise<Subscription> {
    const op = this.client.subscribeToTopic({
      topic: topicFilter,
      receiveMode:
        options.includeOwn === true
          ? model.ReceiveMode.RECEIVE_ALL_MESSAGES
          : model.ReceiveMode.RECEIVE_MESSAGES_FROM_OTHERS,
    });
    op.on('message', (event: greengrasscoreipc.model.SubscriptionResponseMessage) => {
      if (event.jsonMessage !== undefined) {
        onMessage({
          topic: event.jsonMessage.context?.topic ?? topicFilter,
          kind: 'json',
          json: event.jsonMessage.message,
        });
      } else if (event.binaryMessage !== undefined) {
        const raw = event.binaryMessage.message;
        const bytes = raw === undefined ? Buffer.alloc(0) : Buffer.from(raw as Uint8Array);
        onMessage({ topic: event.binaryMessage.context?.topic ?? topicFilter, kind: 'binary', bytes });
      }
    });
    return this.openStream(`subscribe to ${topicFilter}`, op);
  }

  async getConfiguration(keyPath: readonly string[] = [], componentName?: string): Promise<unknown> {
    const response = await this.call(`read configuration ${componentName ?? ''}/${keyPath.join('/')}`, () =>
      this.client.getConfiguration({
        keyPath: [...keyPath],
        ...(componentName === undefined ? {} : { componentName }),
      }),
    );
    const value: unknown = response.value;
    // The nucleus wraps a leaf in its own key ({ leaf: v }); containers come back as they are.
    const last = keyPath[keyPath.length - 1];
    if (
      last !== undefined &&
      typeof value === 'object' &&
      value !== null &&
      Object.keys(value).length === 1 &&
      last in value
    ) {
      const inner = (value as Record<string, unknown>)[last];
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) return inner;
    }
    return value;
  }

  async updateConfiguration(keyPath: readonly string[], valueToMerge: unknown): Promise<void> {
    await this.call(`update configuration ${keyPath.join('/')}`, () =>
      this.client.updateConfiguration({ keyPath: [...keyPath], timestamp: new Date(), valueToMerge }),
    );
  }

  async watchConfiguration(onChange: (keyPath: readonly string[]) => void): Promise<Subscription> {
    const op = this.client.subscribeToConfigurationUpdate({ componentName: this.componentName, keyPath: [] });
    op.on('message', (event: greengrasscoreipc.model.ConfigurationUpdateEvents) => {
      const e = event.configurationUpdateEvent;
      if (e !== undefined) onChange(e.keyPath);
    });
    return this.openStream('watch configuration', op);
  }

  async validateConfiguration(
    validate: (proposed: unknown) => ValidationVerdict,
  ): Promise<Subscription | null> {
    const op = this.client.subscribeToValidateConfigurationUpdates({});
    op.on('message', (event: greengrasscoreipc.model.ValidateConfigurationUpdateEvents) => {
      const e = event.validateConfigurationUpdateEvent;
      if (e === undefined) return;
      let verdict: ValidationVerdict;
      try {
        verdict = validate(e.configuration);
      } catch (err) {
        verdict = {
          ok: false,
          message: `validation failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
      const report = verdict.ok
        ? { status: model.ConfigurationValidityStatus.ACCEPTED, deploymentId: e.deploymentId }
        : {
            status: model.ConfigurationValidityStatus.REJECTED,
            deploymentId: e.deploymentId,
            message: verdict.message,
          };
      this.client
        .sendConfigurationValidityReport({ configurationValidityReport: report })
        .catch((err: unknown) => {
          // A lost report times out on the nucleus side; the deployment then proceeds or fails there.
          void err;
        });
    });
    try {
      return await this.openStream('validate configuration', op);
    } catch (err) {
      // Nucleus lite does not implement the validation operations (a ServiceError without a message).
      const e = ipcError(err, 'validate configuration');
      if (e.code === 'IPC_FAILED') {
        this.logger.debug({ err: e }, 'configuration validation is not offered by this nucleus');
        return null;
      }
      throw e;
    }
  }

  async reportState(state: ReportedState): Promise<void> {
    await this.call(`report state ${state}`, () =>
      this.client.updateState({
        state:
          state === 'RUNNING' ? model.ReportedLifecycleState.RUNNING : model.ReportedLifecycleState.ERRORED,
      }),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.close();
  }
}
