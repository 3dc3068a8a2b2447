import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DrRecord } from '../../shared/src/record';
import type { BatchSource, ClaimResult, DeadLetterSink, IdempotencyStore, RecordSink } from './ports';

/** Runs `fn` over `items` with at most `limit` calls at once. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The idempotency store on DynamoDB: one item per record id (partition key `id`), written with a
 * conditional PutItem, so of two consumers that see the same id (a resend, or a failover that delivered
 * it to two regions feeding one table) exactly one claims it. Items expire by TTL (`expiresAt`, epoch
 * seconds) after `retentionDays`, longer than any resend can come late.
 */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly retentionDays: number,
    private readonly concurrency = 32,
  ) {}

  async claim(
    ids: readonly string[],
    nowMs: number,
    leaseMs: number,
  ): Promise<ReadonlyMap<string, ClaimResult>> {
    const out = new Map<string, ClaimResult>();
    const expiresAt = String(Math.floor(nowMs / 1000) + this.retentionDays * 86_400);
    await eachLimited(ids, this.concurrency, async (id) => {
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              id: { S: id },
              state: { S: 'pending' },
              claimedAtMs: { N: String(nowMs) },
              expiresAt: { N: expiresAt },
            },
            ConditionExpression: 'attribute_not_exists(id) OR (#state = :pending AND claimedAtMs < :stale)',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':pending': { S: 'pending' },
              ':stale': { N: String(nowMs - leaseMs) },
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        out.set(id, 'claimed');
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        out.set(id, err.Item?.['state']?.S === 'done' ? 'done' : 'busy');
      }
    });
    return out;
  }

  async complete(ids: readonly string[]): Promise<void> {
    await eachLimited(ids, this.concurrency, async (id) => {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { id: { S: id } },
          UpdateExpression: 'SET #state = :done',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':done': { S: 'done' } },
        }),
      );
    });
  }

  async release(ids: readonly string[]): Promise<void> {
    await eachLimited(ids, this.concurrency, async (id) => {
      await this.client
        .send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: { id: { S: id } },
            ConditionExpression: '#state = :pending',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':pending': { S: 'pending' } },
          }),
        )
        .catch((err: unknown) => {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        });
    });
  }
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '/');

/**
 * The record sink on S3: one gzip JSON-lines object per batch and set of new records, keyed by
 * thing, day and a hash of the record ids, so a retry that writes the same records writes the same
 * object (no duplicate object), and one that writes a subset after a partial failure never
 * overwrites records stored before.
 */
export class S3RecordSink implements RecordSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async write(
    records: readonly DrRecord[],
    batch: { readonly source: BatchSource; readonly header: { readonly batchId: string } },
  ): Promise<void> {
    const ids = createHash('sha256')
      .update(records.map((r) => r.id).join('\n'))
      .digest('hex')
      .slice(0, 16);
    const body = gzipSync(Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `records/${batch.source.thing}/${day(batch.source.receivedAtMs)}/${batch.header.batchId}-${ids}.jsonl.gz`,
        Body: body,
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
        Metadata: { region: batch.source.region, records: String(records.length) },
      }),
    );
  }
}

/** Undecodable payloads, kept as received with the reason, under dead-letters/. */
export class S3DeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async write(payload: Uint8Array, reason: string, source: BatchSource): Promise<void> {
    const hash = createHash('sha256').update(payload).digest('hex').slice(0, 16);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `dead-letters/${source.thing}/${day(source.receivedAtMs)}/${source.receivedAtMs}-${hash}.bin`,
        Body: payload,
        Metadata: { reason: reason.slice(0, 1024).replace(/[^\x20-\x7e]/g, '?'), region: source.region },
      }),
    );
  }
}
