/**
 * The suite's one error type. Callers branch on `code`, never on message text.
 * The catalogue below is the single list of codes; docs/errors.md is kept in step by a test.
 */
export const ERROR_CATALOGUE = {
  CFG_INVALID: { retryable: false, summary: 'Configuration does not match the component schema.' },
  RECORD_INVALID: { retryable: false, summary: 'A record or message failed validation.' },
  RECORD_TOO_LARGE: { retryable: false, summary: 'A record body is larger than the store accepts.' },
  STORE_BUSY: {
    retryable: true,
    summary: 'The store stayed locked by another process past the busy timeout.',
  },
  STORE_FULL: { retryable: true, summary: 'The disk or the store quota cannot take the write.' },
  STORE_IO: { retryable: true, summary: 'An I/O error from the store file.' },
  STORE_CORRUPT: { retryable: false, summary: 'The store file is damaged or is not an SQLite database.' },
  STORE_RECREATED: {
    retryable: false,
    summary:
      'A damaged, deleted or replaced store file was set aside and a fresh store (a new epoch) was created.',
  },
  STORE_REPLACED: {
    retryable: true,
    summary: 'The data file an open store handle uses was deleted or replaced; the handle must be reopened.',
  },
  STORE_UNAVAILABLE: {
    retryable: true,
    summary: 'The store is absent or not usable yet; its owner (the Buffer) creates or repairs it.',
  },
  STORE_SCHEMA_TOO_NEW: {
    retryable: false,
    summary: 'The store was written by a newer version of the suite than this one.',
  },
  STORE_CLOSED: { retryable: false, summary: 'The store was used after it was closed.' },
  IPC_CONNECT_FAILED: { retryable: true, summary: 'The Greengrass IPC connection could not be established.' },
  IPC_LOST: {
    retryable: false,
    summary: 'The Greengrass IPC connection was lost; the process exits and is restarted.',
  },
  IPC_UNAUTHORIZED: {
    retryable: false,
    summary: "The component's recipe does not grant this IPC operation or topic.",
  },
  IPC_NOT_FOUND: {
    retryable: false,
    summary: 'An IPC request named a component or key that does not exist.',
  },
  IPC_INVALID_ARGUMENT: { retryable: false, summary: 'An IPC request was malformed.' },
  IPC_FAILED: { retryable: true, summary: 'An IPC request failed on the Greengrass side.' },
  IPC_MESSAGE_TOO_LARGE: {
    retryable: false,
    summary:
      'A local message is larger than a nucleus delivers (nucleus lite: 10,000 bytes, about 23 JSON pairs).',
  },
  MODEL_INVALID: {
    retryable: false,
    summary: 'An anomaly model does not load or does not fit the contract; the previous model stays.',
  },
  COMMAND_REJECTED: {
    retryable: false,
    summary: 'A cloud command was well formed but cannot be carried out now (e.g. its region is down).',
  },
  STATUS_LISTEN_FAILED: {
    retryable: true,
    summary: 'The status page cannot listen on its address and port (taken, or not on this gateway).',
  },
  INTERNAL: { retryable: false, summary: 'An unexpected fault inside the suite.' },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface DrErrorOptions {
  readonly cause?: unknown;
  /** Overrides the catalogue's default when one occurrence is (not) worth retrying. */
  readonly retryable?: boolean;
  /** Structured, non-secret context for logs. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class DrError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: DrErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DrError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOGUE[code].retryable;
    this.details = options.details ?? {};
  }
}

export function isDrError(value: unknown, code?: ErrorCode): value is DrError {
  return value instanceof DrError && (code === undefined || value.code === code);
}

/** Wraps anything thrown into a DrError, keeping an existing one as it is. */
export function toDrError(value: unknown, fallback: ErrorCode = 'INTERNAL'): DrError {
  if (value instanceof DrError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new DrError(fallback, message, { cause: value });
}
