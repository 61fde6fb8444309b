import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchKeys } from '../../../contracts/s3-layout';
import { INLINE_OBJECTS_MAX, type Work } from '../../../contracts/states/batch';
import { selectWork } from '../../domain/due';
import { putJson } from '../../platform/s3';

export interface FindParams {
  readonly tableName: string;
  readonly runId: string;
  /** At most this many objects per run (MAX_OBJECTS_PER_RUN); the rest wait for the next run. */
  readonly limit: number;
  /**
   * Partitions of the last this many days are rescored when Production changes (RESCORE_WINDOW_DAYS).
   * @default 7 (the default score TTL)
   */
  readonly windowDays?: number;
  /** Where a long object list is written (`batch/<runId>/objects.json`). */
  readonly artifactsBucket: string;
  readonly kmsKeyArn?: string;
  /** Clock, for tests. @default - now */
  readonly now?: Date;
}

/**
 * The feature objects this run scores: PENDING ones, then those due again for the Production version
 * (lambdas/domain/due.ts), at most `limit`. Up to {@link INLINE_OBJECTS_MAX} travel in the state; a longer list goes
 * to `s3://<artifacts>/batch/<runId>/objects.json` and only its URI travels, keeping the execution state small.
 */
export async function findUnscored(doc: DynamoDBDocumentClient, s3: S3Client, p: FindParams): Promise<Work> {
  const selection = await selectWork(doc, {
    tableName: p.tableName,
    limit: p.limit,
    windowDays: p.windowDays ?? 7,
    ...(p.now ? { now: p.now } : {}),
  });
  const { objects, truncated } = selection;
  if (objects.length <= INLINE_OBJECTS_MAX) return { count: objects.length, truncated, objects };
  const objectsUri = await putJson(s3, p.artifactsBucket, batchKeys(p.runId).objects, objects, {
    kmsKeyArn: p.kmsKeyArn,
  });
  return { count: objects.length, truncated, objectsUri };
}
