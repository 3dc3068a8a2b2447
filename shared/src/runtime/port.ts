import type { DrError } from '../errors';

/** A message received on a local pub/sub topic. */
export type LocalMessage =
  | { readonly topic: string; readonly kind: 'json'; readonly json: unknown }
  | { readonly topic: string; readonly kind: 'binary'; readonly bytes: Buffer };

export interface Subscription {
  close(): Promise<void>;
}

export type ValidationVerdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

export type ReportedState = 'RUNNING' | 'ERRORED';

/**
 * Everything a component needs from Greengrass, and nothing of the SDK's types. On a gateway it is the
 * nucleus over IPC; in development and tests it is the project's local IPC host, through the same adapter.
 */
export interface LocalRuntime {
  readonly componentName: string;
  readonly thingName: string;
  /** The component's work directory (its cwd under Greengrass), the only place it may write. */
  readonly workDir: string;

  /** Refused with IPC_MESSAGE_TOO_LARGE when a nucleus would not deliver it (messages/ipc-limits.ts). */
  publishJson(topic: string, message: unknown): Promise<void>;
  publishBinary(topic: string, bytes: Uint8Array): Promise<void>;
  /** `includeOwn`: receive this component's own publications too (default false). */
  subscribe(
    topicFilter: string,
    onMessage: (message: LocalMessage) => void,
    options?: { readonly includeOwn?: boolean },
  ): Promise<Subscription>;

  /**
   * The configuration value at `keyPath` (the whole configuration for an empty path), of this component
   * or of another one (`componentName`), e.g. a dependency whose settings must be shared.
   */
  getConfiguration(keyPath?: readonly string[], componentName?: string): Promise<unknown>;
  updateConfiguration(keyPath: readonly string[], valueToMerge: unknown): Promise<void>;
  /** Calls back with the changed key path whenever this component's configuration changes. */
  watchConfiguration(onChange: (keyPath: readonly string[]) => void): Promise<Subscription>;
  /**
   * Answers deployments' validation requests: a refused configuration fails the deployment. Null when
   * the nucleus does not offer validation (nucleus lite): configurations then arrive unchecked.
   */
  validateConfiguration(validate: (proposed: unknown) => ValidationVerdict): Promise<Subscription | null>;

  reportState(state: ReportedState): Promise<void>;
  /** Called once if the connection to Greengrass is lost; the component should exit so it is restarted. */
  onLost(handler: (error: DrError) => void): void;
  close(): Promise<void>;
}
