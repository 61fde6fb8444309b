import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchKeys } from '../../../contracts/s3-layout';
import type { Work } from '../../../contracts/states/batch';
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
/**
 * The feature objects this run scores: PENDING ones, then those due again for the Production version
 * (lambdas/domain/due.ts), at most `limit`. The list goes to `s3://<artifacts>/batch/<runId>/objects.json` and only
 * its URI travels, so the execution state does not grow with the number of objects. Nothing is written when there is
 * no work.
 */
export async function findUnscored(doc: DynamoDBDocumentClient, s3: S3Client, p: FindParams): Promise<Work> {
  const { objects, truncated } = await selectWork(doc, {
    tableName: p.tableName,
    limit: p.limit,
    windowDays: p.windowDays ?? 7,
    ...(p.now ? { now: p.now } : {}),
  });
  if (objects.length === 0) return { count: 0, truncated };
  const objectsUri = await putJson(s3, p.artifactsBucket, batchKeys(p.runId).objects, objects, {
    kmsKeyArn: p.kmsKeyArn,
  });
  return { count: objects.length, truncated, objectsUri };
}
