import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DrError } from '../../shared/src/errors';
import { consumeBatch, type ConsumerDeps } from './core';
import { DynamoDbIdempotencyStore, S3DeadLetterSink, S3RecordSink } from './aws';

/**
 * The Lambda function behind each region's batch rule:
 *   SELECT encode(*, 'base64') AS payload, topic(2) AS thing, timestamp() AS receivedAtMs
 *   FROM 'edgedr/+/batches'
 * IoT rules invoke Lambda asynchronously: a throw makes Lambda retry the event (twice), then hand it
 * to the function's on-failure destination with the payload, so a batch that cannot be stored now is
 * kept, not lost.
 */
export interface BatchRuleEvent {
  readonly payload: string;
  readonly thing: string;
  readonly receivedAtMs: number;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '')
    throw new DrError('CFG_INVALID', `environment variable ${name} is not set`);
  return value;
}

let deps: ConsumerDeps | undefined;

function dependencies(): ConsumerDeps {
  if (deps !== undefined) return deps;
  const s3 = new S3Client({});
  const bucket = env('EDGEDR_BUCKET');
  deps = {
    sink: new S3RecordSink(s3, bucket),
    deadLetters: new S3DeadLetterSink(s3, bucket),
    idempotency: new DynamoDbIdempotencyStore(
      new DynamoDBClient({}),
      env('EDGEDR_IDEMPOTENCY_TABLE'),
      Number(process.env['EDGEDR_RETENTION_DAYS'] ?? '14'),
    ),
    nowMs: () => Date.now(),
    claimLeaseMs: Number(process.env['EDGEDR_CLAIM_LEASE_MS'] ?? '120000'),
  };
  return deps;
}

export async function handler(event: BatchRuleEvent): Promise<Record<string, unknown>> {
  const source = {
    thing: event.thing,
    region: process.env['AWS_REGION'] ?? 'unknown',
    receivedAtMs: event.receivedAtMs,
  };
  const outcome = await consumeBatch(Buffer.from(event.payload, 'base64'), source, dependencies());
  const summary =
    outcome.kind === 'dead-letter'
      ? { thing: source.thing, outcome: outcome.kind, reason: outcome.reason }
      : {
          thing: source.thing,
          outcome: outcome.kind,
          batchId: outcome.header.batchId,
          stored: outcome.stored,
          duplicates: outcome.duplicates,
          busy: outcome.busy.length,
        };
  console.log(JSON.stringify(summary));
  if (outcome.kind === 'stored' && outcome.busy.length > 0)
    // Another invocation is storing some of these right now: a retry confirms them, or takes them over.
    throw new DrError('INTERNAL', `${outcome.busy.length} records are being stored by another invocation`, {
      retryable: true,
    });
  return summary;
}
