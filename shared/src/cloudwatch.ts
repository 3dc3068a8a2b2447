/**
 * Requests for the aws.greengrass.Cloudwatch component, which publishes them to CloudWatch: one JSON
 * message per metric on its local topic (default `cloudwatch/metric/put`), shaped
 * `{ request: { namespace, metricData: { metricName, value, unit, timestamp, dimensions } } }` with the
 * timestamp in epoch seconds and at most 10 dimensions. One metric per message also keeps each message
 * far inside nucleus lite's IPC limits (a JSON message decoded into at most 50 objects, about 23
 * key/value pairs in all, and 10,000 bytes framed); `ipcBudget` measures a message against them.
 */
export const CLOUDWATCH_PUT_TOPIC = 'cloudwatch/metric/put';

export const CLOUDWATCH_UNITS = ['Count', 'Milliseconds', 'Seconds', 'Bytes', 'Percent', 'None'] as const;
export type CloudWatchUnit = (typeof CLOUDWATCH_UNITS)[number];

export interface Metric {
  readonly name: string;
  readonly value: number;
  readonly unit: CloudWatchUnit;
  readonly timestampMs: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface PutMetricRequest {
  readonly request: {
    readonly namespace: string;
    readonly metricData: {
      readonly metricName: string;
      readonly value: number;
      readonly unit: CloudWatchUnit;
      readonly timestamp: number;
      readonly dimensions: readonly { readonly name: string; readonly value: string }[];
    };
  };
}

/** CloudWatch refuses NaN and infinities, more than 10 dimensions, and namespaces under AWS/. */
export function putMetricRequest(namespace: string, m: Metric): PutMetricRequest {
  if (namespace.startsWith('AWS/') || namespace.startsWith(':'))
    throw new Error(`namespace ${namespace} is reserved or invalid for CloudWatch`);
  if (!Number.isFinite(m.value)) throw new Error(`metric ${m.name}: CloudWatch refuses ${m.value}`);
  const dimensions = Object.entries(m.dimensions).map(([name, value]) => ({ name, value }));
  if (dimensions.length > 10) throw new Error(`metric ${m.name}: at most 10 dimensions`);
  return {
    request: {
      namespace,
      metricData: {
        metricName: m.name,
        value: m.value,
        unit: m.unit,
        timestamp: Math.floor(m.timestampMs / 1000),
        dimensions,
      },
    },
  };
}

/** Objects (containers included, the message itself counted) and key/value pairs of a decoded JSON message. */
export function ipcBudget(message: unknown): { objects: number; pairs: number; bytes: number } {
  let objects = 0;
  let pairs = 0;
  const walk = (v: unknown): void => {
    objects += 1;
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object')
      for (const child of Object.values(v)) {
        pairs += 1;
        walk(child);
      }
  };
  walk(message);
  return { objects, pairs, bytes: Buffer.byteLength(JSON.stringify(message)) };
}
