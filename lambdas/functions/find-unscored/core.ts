import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchKeys } from '../../../contracts/s3-layout';
import type { Work } from '../../../contracts/states/batch';
import { findPending } from '../../domain/ledger';
import { putJson } from '../../platform/s3';

export interface FindParams {
  readonly tableName: string;
  readonly runId: string;
  /** At most this many objects per run (MAX_OBJECTS_PER_RUN); the rest wait for the next run. */
  readonly limit: number;
  /** Where a long object list is written (`batch/<runId>/objects.json`). */
  readonly artifactsBucket: string;
  readonly kmsKeyArn?: string;
}

/**
 * The PENDING feature objects this run scores (oldest partition first, at most `limit`). The list goes to
 * `s3://<artifacts>/batch/<runId>/objects.json` and only its URI travels, so the execution state does not grow with
 * the number of objects. Nothing is written when there is no work.
 */
export async function findUnscored(doc: DynamoDBDocumentClient, s3: S3Client, p: FindParams): Promise<Work> {
  const { objects, truncated } = await findPending(doc, p.tableName, p.limit);
  if (objects.length === 0) return { count: 0, truncated };
  const objectsUri = await putJson(s3, p.artifactsBucket, batchKeys(p.runId).objects, objects, {
    kmsKeyArn: p.kmsKeyArn,
  });
  return { count: objects.length, truncated, objectsUri };
}
