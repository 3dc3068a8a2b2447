import { DrError } from '../errors';
import type { LocalMessage, LocalRuntime } from '../runtime/port';

/**
 * Documents (metrics, status, store events, anomaly events, commands) travel on local topics as UTF-8
 * JSON in a binary message. Nucleus lite decodes a JSON message into at most about 23 key/value pairs
 * and silently stops a subscription that receives more (ipc-limits.ts); a binary message has no such
 * limit, only the frame size, so every suite document is sent the same way whatever its shape. A
 * subscriber parses the bytes as JSON.
 */
export function encodeDocument(document: unknown): Buffer {
  const text = JSON.stringify(document);
  if (text === undefined) throw new DrError('RECORD_INVALID', 'a document must be JSON');
  return Buffer.from(text, 'utf8');
}

export function publishDocument(runtime: LocalRuntime, topic: string, document: unknown): Promise<void> {
  return runtime.publishBinary(topic, encodeDocument(document));
}

/** The payload of a message as the local IPC host's own subscribers see it. */
export type RoutedPayload =
  { readonly kind: 'json'; readonly message: unknown } | { readonly kind: 'binary'; readonly base64: string };

/**
 * A document from a message: a binary message holding JSON (how the suite sends), or a JSON message
 * (how another component may send, e.g. a user's own publisher). Undefined when it is neither.
 */
export function readDocument(message: LocalMessage | RoutedPayload): unknown {
  if (message.kind === 'json') return 'json' in message ? message.json : message.message;
  const bytes = 'bytes' in message ? message.bytes : Buffer.from(message.base64, 'base64');
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A document that is a JSON object, or undefined. */
export function readObject(message: LocalMessage | RoutedPayload): Record<string, unknown> | undefined {
  const doc = readDocument(message);
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc)
    ? (doc as Record<string, unknown>)
    : undefined;
}
