/**
 * Requests for the aws.greengrass.Cloudwatch component, which publishes them to CloudWatch: one JSON
 * message per metric on its local topic (default `cloudwatch/metric/put`), shaped
 * `{ request: { namespace, metricData: { metricName, value, unit, timestamp, dimensions } } }` with the
 * timestamp in epoch seconds and at most 10 dimensions. One metric per message also keeps each message
 * far inside nucleus lite's IPC limits (messages/ipc-limits.ts: about 23 key/value pairs in all, 10,000
 * bytes framed); the component expects JSON messages, so these go as JSON, not as binary documents.
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
