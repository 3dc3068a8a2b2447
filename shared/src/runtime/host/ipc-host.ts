import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../../logger';
import { accessControlSchema, isAuthorized, PUBSUB_SERVICE, type AccessControl } from './access-control';
import { changedPaths, getAt, mergeAt, pathsOverlap, type Json, type JsonTree } from './config-tree';
import {
  DEFAULT_CONNECTION_LIMITS,
  IpcConnection,
  type ConnectionIdentity,
  type ConnectionLimits,
  type OperationContext,
} from './connection';
import { ERROR_SHAPES, errorShapeFor, operationShapes } from './service-model';
import { hasWildcard, isValidTopicFilter, isValidTopicName, topicMatches } from './topics';
import { binaryMessageProblem, IPC_MAX_FRAME_BYTES, jsonMessageProblem } from '../../messages/ipc-limits';

export type ComponentState =
  'INSTALLED' | 'STARTING' | 'RUNNING' | 'ERRORED' | 'BROKEN' | 'STOPPING' | 'FINISHED';

export interface HostComponent {
  readonly name: string;
  readonly token: string;
  configuration: JsonTree;
  state: ComponentState;
}

export interface IpcHostOptions {
  readonly socketPath: string;
  readonly logger: Logger;
  /** Per connection: events beyond this much unsent data are dropped (and counted). */
  readonly maxPendingWriteBytes?: number;
  /** Connections at most (each component needs one or two); more are closed at once. */
  readonly maxConnections?: number;
  /** Connections that have not completed the handshake, at most. */
  readonly maxUnauthenticated?: number;
  /** Overrides of the per-connection limits (handshake deadline, frame sizes). */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** How long a deployment waits for components to validate a proposed configuration. */
  readonly validationTimeoutMs?: number;
  /**
   * Offer SubscribeToValidateConfigurationUpdates and SendConfigurationValidityReport, as the Java
   * nucleus does (default). Without them the host behaves like nucleus lite: both answer a ServiceError
   * with an empty message, and a deployment reaches the component unchecked.
   */
  readonly validationOperations?: boolean;
}

export interface DeploymentResult {
  readonly deploymentId: string;
  readonly status: 'APPLIED' | 'REJECTED';
  readonly message?: string;
}

/** A message on a local topic as the host routes it. */
export type LocalPayload =
  { readonly kind: 'json'; readonly message: Json } | { readonly kind: 'binary'; readonly base64: string };

interface TopicSubscription {
  readonly filter: string;
  readonly component: string;
  readonly fromOthersOnly: boolean;
  readonly deliver: (topic: string, payload: LocalPayload) => void;
}

interface ConfigWatcher {
  readonly component: string;
  readonly keyPath: readonly string[];
  readonly notify: (component: string, keyPath: readonly string[]) => void;
}

interface Validator {
  readonly component: string;
  readonly ask: (configuration: JsonTree, deploymentId: string) => void;
}

class OperationError extends Error {
  constructor(
    readonly shape: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * JSON for an event, keeping what the publisher sent: a number too large for a double (`1e999`) parses
 * to Infinity, which JSON.stringify would turn into null. It goes out as `1e999` again, so the
 * subscriber judges the value that was published (Ingest refuses it as non_finite).
 */
const NON_FINITE = `\u0000nonfinite-${randomBytes(6).toString('hex')}`;
const NON_FINITE_TEXT = new RegExp(`"\\\\u0000nonfinite-${NON_FINITE.slice(-12)}([+-])"`, 'g');
function eventJson(event: unknown): string {
  let found = false;
  const text = JSON.stringify(event, (_key, v: unknown) => {
    if (typeof v !== 'number' || Number.isFinite(v)) return v;
    found = true;
    return `${NON_FINITE}${v > 0 ? '+' : '-'}`;
  });
  return found
    ? text.replace(NON_FINITE_TEXT, (_m, sign: string) => (sign === '+' ? '1e999' : '-1e999'))
    : text;
}

const OP = 'aws.greengrass#';
const VALIDATION_OPERATIONS = new Set([
  `${OP}SubscribeToValidateConfigurationUpdates`,
  `${OP}SendConfigurationValidityReport`,
]);
const HOST_SOURCE = '(host)';

/**
 * A local stand-in for the Greengrass nucleus's IPC server: event-stream RPC on a Unix socket for the
 * operations the suite uses, with each component's recipe `accessControl` enforced. Deployments of new
 * configuration go through the components' validation handlers like on a gateway.
 */
export class LocalIpcHost extends EventEmitter {
  private server: Server | undefined;
  private readonly components = new Map<string, HostComponent>();
  private readonly byToken = new Map<string, HostComponent>();
  private readonly connections = new Set<IpcConnection>();
  private readonly topicSubs = new Set<TopicSubscription>();
  private readonly configWatchers = new Set<ConfigWatcher>();
  private readonly validators = new Set<Validator>();
  private readonly pendingReports = new Map<string, (status: string, message: string | undefined) => void>();
  private readonly log: Logger;
  private refusedConnections = 0;

  constructor(private readonly options: IpcHostOptions) {
    super();
    this.log = options.logger;
  }

  /** Open connections and subscriptions: what a client that died must not leave behind. */
  stats(): {
    connections: number;
    topicSubscriptions: number;
    configWatchers: number;
    validators: number;
    droppedEvents: number;
  } {
    return {
      connections: this.connections.size,
      topicSubscriptions: [...this.topicSubs].filter((s) => s.component !== HOST_SOURCE).length,
      configWatchers: this.configWatchers.size,
      validators: this.validators.size,
      droppedEvents: [...this.connections].reduce((n, c) => n + c.droppedEvents, 0),
    };
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Registers a component; its `accessControl` comes from its configuration, as on a gateway. */
  addComponent(name: string, configuration: JsonTree): HostComponent {
    if (this.components.has(name)) throw new Error(`component ${name} is already registered`);
    accessControlSchema.parse(configuration['accessControl'] ?? {});
    const component: HostComponent = {
      name,
      token: randomBytes(24).toString('base64url'),
      configuration: structuredClone(configuration),
      state: 'INSTALLED',
    };
    this.components.set(name, component);
    this.byToken.set(component.token, component);
    return component;
  }

  component(name: string): HostComponent | undefined {
    return this.components.get(name);
  }

  setState(name: string, state: ComponentState): void {
    const c = this.components.get(name);
    if (c === undefined || c.state === state) return;
    c.state = state;
    this.emit('state', name, state);
  }

  /** Closes every connection of a component, as a nucleus restart would (tests and chaos runs). */
  dropConnections(name: string): number {
    const doomed = [...this.connections].filter((c) => c.identity?.component === name);
    for (const c of doomed) c.close();
    return doomed.length;
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.options.socketPath), { recursive: true, mode: 0o700 });
    rmSync(this.options.socketPath, { force: true }); // a stale socket from a killed host
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.options.socketPath, 0o600);
    this.log.info({ socket: this.options.socketPath }, 'local IPC host listening');
  }

  async stop(): Promise<void> {
    for (const c of [...this.connections]) c.close();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.options.socketPath, { force: true });
  }

  private accept(socket: Socket): void {
    const unauthenticated = [...this.connections].filter((c) => c.identity === undefined).length;
    if (
      this.connections.size >= (this.options.maxConnections ?? 256) ||
      unauthenticated >= (this.options.maxUnauthenticated ?? 32)
    ) {
      this.refusedConnections += 1;
      if (this.refusedConnections === 1 || this.refusedConnections % 100 === 0)
        this.log.warn(
          { connections: this.connections.size, unauthenticated, refused: this.refusedConnections },
          'refusing IPC connection: too many connections',
        );
      socket.destroy();
      return;
    }
    const connection = new IpcConnection(
      socket,
      {
        authenticate: (token) => this.authenticate(token),
        runOperation: (operation, request, ctx) => this.runOperation(operation, request, ctx),
        connectionClosed: (c) => this.connections.delete(c),
      },
      this.log,
      {
        ...DEFAULT_CONNECTION_LIMITS,
        ...(this.options.maxPendingWriteBytes === undefined
          ? {}
          : { maxPendingWriteBytes: this.options.maxPendingWriteBytes }),
        ...this.options.connectionLimits,
      },
    );
    this.connections.add(connection);
  }

  private authenticate(token: string): ConnectionIdentity | undefined {
    const c = this.byToken.get(token);
    return c === undefined ? undefined : { component: c.name };
  }

  // ---- host-side pub/sub (tests, the demo's status view) ----

  publish(topic: string, payload: LocalPayload): void {
    this.route(topic, payload, HOST_SOURCE);
  }

  subscribe(filter: string, handler: (topic: string, payload: LocalPayload) => void): () => void {
    const sub: TopicSubscription = {
      filter,
      component: HOST_SOURCE,
      fromOthersOnly: false,
      deliver: handler,
    };
    this.topicSubs.add(sub);
    return () => this.topicSubs.delete(sub);
  }

  private route(topic: string, payload: LocalPayload, source: string): void {
    for (const sub of this.topicSubs) {
      if (sub.fromOthersOnly && sub.component === source) continue;
      if (topicMatches(sub.filter, topic)) sub.deliver(topic, payload);
    }
  }

  // ---- deployments ----

  /**
   * Proposes a new configuration for a component, as a deployment would: the component's validation
   * handlers see it first; a REJECTED report leaves the configuration unchanged.
   */
  async deploy(name: string, configuration: JsonTree): Promise<DeploymentResult> {
    const component = this.components.get(name);
    if (component === undefined) throw new Error(`unknown component ${name}`);
    const deploymentId = randomUUID();
    const validators = [...this.validators].filter((v) => v.component === name);
    if (validators.length > 0) {
      const verdict = await new Promise<{ status: string; message: string | undefined }>((resolve) => {
        const timer = setTimeout(() => {
          this.pendingReports.delete(deploymentId);
          resolve({ status: 'ACCEPTED', message: 'no validity report before the timeout' });
        }, this.options.validationTimeoutMs ?? 10_000);
        this.pendingReports.set(deploymentId, (status, message) => {
          clearTimeout(timer);
          this.pendingReports.delete(deploymentId);
          resolve({ status, message });
        });
        for (const v of validators) v.ask(configuration, deploymentId);
      });
      if (verdict.status === 'REJECTED') {
        this.log.warn(
          { client: name, deploymentId, reason: verdict.message },
          'deployment rejected by component',
        );
        return {
          deploymentId,
          status: 'REJECTED',
          ...(verdict.message === undefined ? {} : { message: verdict.message }),
        };
      }
    }
    this.replaceConfiguration(component, structuredClone(configuration));
    return { deploymentId, status: 'APPLIED' };
  }

  private replaceConfiguration(component: HostComponent, next: JsonTree): void {
    const changes = changedPaths(component.configuration, next);
    component.configuration = next;
    for (const keyPath of changes) {
      for (const w of this.configWatchers) {
        if (w.component === component.name && pathsOverlap(w.keyPath, keyPath))
          w.notify(component.name, keyPath);
      }
    }
  }

  // ---- operations ----

  private runOperation(operation: string, request: unknown, ctx: OperationContext): void {
    const shapes = operationShapes(operation);
    const handler = this.handlers[operation];
    const { connection, streamId } = ctx;
    if (this.options.validationOperations === false && VALIDATION_OPERATIONS.has(operation)) {
      // What nucleus lite answers: a ServiceError without a message.
      connection.fail(streamId, ERROR_SHAPES.service, '');
      return;
    }
    if (ctx.requestBytes > IPC_MAX_FRAME_BYTES) {
      this.log.warn(
        { client: ctx.identity.component, operation, bytes: ctx.requestBytes },
        'IPC request too large',
      );
      connection.fail(
        streamId,
        errorShapeFor(operation, ERROR_SHAPES.invalidArguments),
        `request of ${ctx.requestBytes} bytes: nucleus lite takes IPC messages of at most ${IPC_MAX_FRAME_BYTES} bytes`,
      );
      return;
    }
    if (shapes === undefined || handler === undefined) {
      this.log.warn({ client: ctx.identity.component, operation }, 'unsupported IPC operation');
      connection.fail(
        streamId,
        ERROR_SHAPES.service,
        `operation ${operation} is not supported by the local IPC host`,
      );
      return;
    }
    try {
      if (typeof request !== 'object' || request === null) {
        throw new OperationError(ERROR_SHAPES.invalidArguments, 'request payload is not a JSON object');
      }
      handler(
        request as Record<string, unknown>,
        ctx,
        shapes.responseShape,
        shapes.inboundMessageShape ?? '',
      );
    } catch (err) {
      if (err instanceof OperationError) {
        connection.fail(streamId, errorShapeFor(operation, err.shape), err.message);
        return;
      }
      this.log.error({ err, operation }, 'IPC operation failed');
      connection.fail(streamId, ERROR_SHAPES.service, 'internal error in the local IPC host');
    }
  }

  private authorizePubsub(ctx: OperationContext, operation: string, resource: string): void {
    const c = this.components.get(ctx.identity.component);
    const acl = accessControlSchema.safeParse(c?.configuration['accessControl'] ?? {});
    const granted: AccessControl = acl.success ? acl.data : {};
    if (!isAuthorized(granted, PUBSUB_SERVICE, OP + operation, resource)) {
      throw new OperationError(
        ERROR_SHAPES.unauthorized,
        `Principal ${ctx.identity.component} is not authorized to perform ${PUBSUB_SERVICE}:${OP}${operation} on resource ${resource}`,
      );
    }
  }

  private readonly handlers: Record<
    string,
    (req: Record<string, unknown>, ctx: OperationContext, responseShape: string, eventShape: string) => void
  > = {
    [`${OP}PublishToTopic`]: (req, ctx, responseShape) => {
      const topic = req['topic'];
      if (typeof topic !== 'string' || !isValidTopicName(topic))
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          'topic must be a topic name without wildcards',
        );
      this.authorizePubsub(ctx, 'PublishToTopic', topic);
      const pm = req['publishMessage'] as {
        jsonMessage?: { message?: Json };
        binaryMessage?: { message?: unknown };
      };
      let payload: LocalPayload;
      if (pm?.jsonMessage !== undefined) payload = { kind: 'json', message: pm.jsonMessage.message ?? null };
      else if (typeof pm?.binaryMessage?.message === 'string')
        payload = { kind: 'binary', base64: pm.binaryMessage.message };
      else
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          'publishMessage needs jsonMessage or binaryMessage',
        );
      // Nucleus lite drops what its subscribers cannot decode, silently: refuse it here, loudly.
      const problem =
        payload.kind === 'json'
          ? jsonMessageProblem(topic, payload.message)
          : binaryMessageProblem(topic, Buffer.byteLength(payload.base64, 'base64'));
      if (problem !== undefined)
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          `message on ${topic} is larger than nucleus lite delivers: ${problem}`,
        );
      this.route(topic, payload, ctx.identity.component);
      ctx.connection.respond(ctx.streamId, responseShape, {}, true);
    },

    [`${OP}SubscribeToTopic`]: (req, ctx, responseShape, eventShape) => {
      const filter = req['topic'];
      if (typeof filter !== 'string' || !isValidTopicFilter(filter))
        throw new OperationError(ERROR_SHAPES.invalidArguments, 'topic must be a valid topic filter');
      this.authorizePubsub(ctx, 'SubscribeToTopic', filter);
      const mode = req['receiveMode'];
      if (mode !== undefined && mode !== 'RECEIVE_ALL_MESSAGES' && mode !== 'RECEIVE_MESSAGES_FROM_OTHERS')
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          `unknown receiveMode ${JSON.stringify(mode)}`,
        );
      // The nucleus's default: a wildcard subscription does not receive the component's own messages.
      const fromOthersOnly =
        mode === undefined ? hasWildcard(filter) : mode === 'RECEIVE_MESSAGES_FROM_OTHERS';
      const { connection, streamId } = ctx;
      const sub: TopicSubscription = {
        filter,
        component: ctx.identity.component,
        fromOthersOnly,
        deliver: (topic, payload) => {
          const event =
            payload.kind === 'json'
              ? { jsonMessage: { message: payload.message, context: { topic } } }
              : { binaryMessage: { message: payload.base64, context: { topic } } };
          connection.sendEvent(streamId, eventShape, eventJson(event));
        },
      };
      connection.respond(streamId, responseShape, { topicName: filter }, false);
      connection.openStream(streamId, () => this.topicSubs.delete(sub));
      this.topicSubs.add(sub);
    },

    [`${OP}GetConfiguration`]: (req, ctx, responseShape) => {
      const name = typeof req['componentName'] === 'string' ? req['componentName'] : ctx.identity.component;
      const keyPath = Array.isArray(req['keyPath']) ? (req['keyPath'] as unknown[]).map(String) : [];
      const component = this.components.get(name);
      if (component === undefined)
        throw new OperationError(ERROR_SHAPES.notFound, `component ${name} not found`);
      const found = getAt(component.configuration, keyPath);
      if (!found.found) throw new OperationError(ERROR_SHAPES.notFound, `key ${keyPath.join('/')} not found`);
      // A leaf comes back wrapped in its key, a container as itself (the nucleus's behaviour).
      const isContainer =
        typeof found.value === 'object' && found.value !== null && !Array.isArray(found.value);
      const last = keyPath[keyPath.length - 1];
      const value = isContainer || last === undefined ? found.value : { [last]: found.value };
      const bytes = Buffer.byteLength(JSON.stringify(value)) + 300;
      if (bytes > IPC_MAX_FRAME_BYTES)
        throw new OperationError(
          ERROR_SHAPES.service,
          `configuration ${name}/${keyPath.join('/')} takes about ${bytes} bytes: nucleus lite answers at most ${IPC_MAX_FRAME_BYTES} per IPC message`,
        );
      ctx.connection.respond(ctx.streamId, responseShape, { componentName: name, value }, true);
    },

    [`${OP}UpdateConfiguration`]: (req, ctx, responseShape) => {
      const keyPath = Array.isArray(req['keyPath']) ? (req['keyPath'] as unknown[]).map(String) : [];
      if (!('valueToMerge' in req))
        throw new OperationError(ERROR_SHAPES.invalidArguments, 'valueToMerge is required');
      // A component must not grant itself topics: accessControl changes only with a deployment, at
      // whatever key path a merge would reach it (the Java nucleus also ignores the case of keys).
      const value = req['valueToMerge'];
      const touchesAcl =
        (keyPath[0] !== undefined && keyPath[0].toLowerCase() === 'accesscontrol') ||
        (keyPath.length === 0 &&
          typeof value === 'object' &&
          value !== null &&
          Object.keys(value).some((k) => k.toLowerCase() === 'accesscontrol'));
      if (touchesAcl)
        throw new OperationError(
          ERROR_SHAPES.unauthorized,
          'accessControl can only change through a deployment',
        );
      const component = this.components.get(ctx.identity.component);
      if (component === undefined) throw new OperationError(ERROR_SHAPES.service, 'component not registered');
      this.replaceConfiguration(
        component,
        mergeAt(component.configuration, keyPath, req['valueToMerge'] as Json),
      );
      ctx.connection.respond(ctx.streamId, responseShape, {}, true);
    },

    [`${OP}SubscribeToConfigurationUpdate`]: (req, ctx, responseShape, eventShape) => {
      const name = typeof req['componentName'] === 'string' ? req['componentName'] : ctx.identity.component;
      if (!this.components.has(name))
        throw new OperationError(ERROR_SHAPES.notFound, `component ${name} not found`);
      const keyPath = Array.isArray(req['keyPath']) ? (req['keyPath'] as unknown[]).map(String) : [];
      const { connection, streamId } = ctx;
      const watcher: ConfigWatcher = {
        component: name,
        keyPath,
        notify: (componentName, changed) =>
          connection.sendEvent(
            streamId,
            eventShape,
            JSON.stringify({ configurationUpdateEvent: { componentName, keyPath: changed } }),
          ),
      };
      connection.respond(streamId, responseShape, {}, false);
      connection.openStream(streamId, () => this.configWatchers.delete(watcher));
      this.configWatchers.add(watcher);
    },

    [`${OP}SubscribeToValidateConfigurationUpdates`]: (_req, ctx, responseShape, eventShape) => {
      const { connection, streamId } = ctx;
      const validator: Validator = {
        component: ctx.identity.component,
        ask: (configuration, deploymentId) =>
          connection.sendEvent(
            streamId,
            eventShape,
            JSON.stringify({ validateConfigurationUpdateEvent: { configuration, deploymentId } }),
          ),
      };
      connection.respond(streamId, responseShape, {}, false);
      connection.openStream(streamId, () => this.validators.delete(validator));
      this.validators.add(validator);
    },

    [`${OP}SendConfigurationValidityReport`]: (req, ctx, responseShape) => {
      const report = req['configurationValidityReport'] as
        { status?: unknown; deploymentId?: unknown; message?: unknown } | undefined;
      if (
        report === undefined ||
        (report.status !== 'ACCEPTED' && report.status !== 'REJECTED') ||
        typeof report.deploymentId !== 'string'
      ) {
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          'configurationValidityReport needs status and deploymentId',
        );
      }
      const pending = this.pendingReports.get(report.deploymentId);
      if (pending === undefined)
        throw new OperationError(
          ERROR_SHAPES.invalidArguments,
          `no deployment ${report.deploymentId} awaits a report`,
        );
      pending(report.status, typeof report.message === 'string' ? report.message : undefined);
      ctx.connection.respond(ctx.streamId, responseShape, {}, true);
    },

    [`${OP}UpdateState`]: (req, ctx, responseShape) => {
      const state = req['state'];
      if (state !== 'RUNNING' && state !== 'ERRORED')
        throw new OperationError(
          ERROR_SHAPES.service,
          `state must be RUNNING or ERRORED, got ${String(state)}`,
        );
      this.setState(ctx.identity.component, state);
      ctx.connection.respond(ctx.streamId, responseShape, {}, true);
    },
  };
}
