/**
 * What one local pub/sub message may be so that both nuclei deliver it. The Java nucleus takes large
 * messages; nucleus lite does not, and past its limits it drops messages without telling the publisher
 * (../GREENGRASS.md and nucleus lite's README):
 * - an IPC frame is at most 10,000 bytes (`GGL_IPC_MAX_MSG_LEN`); a larger publish breaks the connection;
 * - a subscriber's message is decoded into a 550-byte arena (`PAYLOAD_MAX_SUBOBJECTS` = 50 objects of 11
 *   bytes): every key/value pair of a map takes 21 bytes, every list item 11, and the wrapper that
 *   carries topic, type and message takes three pairs. A flat JSON object of 23 keys fits, 24 does not,
 *   and the subscription then stops delivering altogether;
 * - objects nest at most 15 deep (`GG_MAX_OBJECT_DEPTH`).
 * The suite checks every message it publishes against these limits before it sends it (the runtime
 * adapter refuses with IPC_MESSAGE_TOO_LARGE), and the local IPC host enforces the same limits.
 */
export const IPC_MAX_FRAME_BYTES = 10_000;
export const IPC_SUBSCRIBER_ARENA_BYTES = 50 * 11;
const MAP_PAIR_BYTES = 21;
const LIST_ITEM_BYTES = 11;
/** The wrapper map `{ topic, type, message }` the subscriber decodes around every message. */
const WRAPPER_BYTES = 3 * MAP_PAIR_BYTES;
export const IPC_MAX_DEPTH = 15;

/**
 * Room for the event-stream prelude, headers and CRCs of a publish request and of the event that
 * delivers it (the longer of the two; measured: under 250 bytes), with margin.
 */
const FRAME_OVERHEAD_BYTES = 400;
/** A nucleus may re-encode a number with up to 17 significant digits and an exponent. */
const WORST_NUMBER_CHARS = 24;

/**
 * Bytes of the subscriber's decode arena a JSON message takes, wrapper included, and how deep it nests.
 * Iterative, and it stops counting past the limits, so a hostile message nested thousands deep costs
 * no recursion.
 */
function measure(message: unknown): { arenaBytes: number; depth: number } {
  let arenaBytes = WRAPPER_BYTES;
  let depth = 0;
  const stack: { value: unknown; depth: number }[] = [{ value: message, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth: d } = stack.pop() as { value: unknown; depth: number };
    if (typeof value !== 'object' || value === null) continue;
    depth = Math.max(depth, d + 1);
    const children = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
    arenaBytes += children.length * (Array.isArray(value) ? LIST_ITEM_BYTES : MAP_PAIR_BYTES);
    if (arenaBytes > IPC_SUBSCRIBER_ARENA_BYTES * 4 || depth > IPC_MAX_DEPTH * 4) break;
    for (const child of children) stack.push({ value: child, depth: d + 1 });
  }
  return { arenaBytes, depth };
}

export function subscriberArenaBytes(message: unknown): number {
  return measure(message).arenaBytes;
}

/** Length of `JSON.stringify(value)` with every number counted at its worst re-encoded length. */
function worstJsonLength(value: unknown): number {
  const text = JSON.stringify(value) ?? 'null';
  let numbers = 0;
  let numberChars = 0;
  JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number') {
      numbers += 1;
      numberChars += String(v).length;
    }
    return v;
  });
  return Buffer.byteLength(text) - numberChars + numbers * WORST_NUMBER_CHARS;
}

/** The framed size of the larger of the publish request and the delivered event, for a payload. */
function frameBytes(topic: string, payloadJsonBytes: number): number {
  // {"topic":T,"publishMessage":{"binaryMessage":{"message":M,"context":{"topic":T}}}}: the topic
  // appears at most twice (request and event), the keys take under 80 bytes.
  return FRAME_OVERHEAD_BYTES + 2 * Buffer.byteLength(JSON.stringify(topic)) + 80 + payloadJsonBytes;
}

/** Why a JSON message cannot go through both nuclei, or undefined when it can. */
export function jsonMessageProblem(topic: string, message: unknown): string | undefined {
  const { arenaBytes: arena, depth } = measure(message);
  if (depth > IPC_MAX_DEPTH - 3)
    return `it nests ${depth > IPC_MAX_DEPTH * 4 ? `more than ${IPC_MAX_DEPTH * 4}` : depth} levels deep (nucleus lite decodes at most ${IPC_MAX_DEPTH - 3} inside its wrapper)`;
  if (arena > IPC_SUBSCRIBER_ARENA_BYTES)
    return `it decodes into ${arena} bytes of objects (nucleus lite's subscribers decode at most ${IPC_SUBSCRIBER_ARENA_BYTES}, about 23 key/value pairs in all)`;
  const frame = frameBytes(topic, worstJsonLength(message));
  if (frame > IPC_MAX_FRAME_BYTES)
    return `its IPC frame may take ${frame} bytes (at most ${IPC_MAX_FRAME_BYTES})`;
  return undefined;
}

/** Why a binary message cannot go through both nuclei, or undefined when it can. */
export function binaryMessageProblem(topic: string, byteLength: number): string | undefined {
  const frame = frameBytes(topic, base64Length(byteLength));
  if (frame > IPC_MAX_FRAME_BYTES)
    return `its IPC frame would take ${frame} bytes (at most ${IPC_MAX_FRAME_BYTES}; a binary message on ${topic} may hold ${maxBinaryMessageBytes(topic)} bytes)`;
  return undefined;
}

function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The largest binary message that fits one IPC frame on `topic`, on both nuclei. */
export function maxBinaryMessageBytes(topic: string): number {
  const room = IPC_MAX_FRAME_BYTES - frameBytes(topic, 0);
  return Math.floor(room / 4) * 3;
}
