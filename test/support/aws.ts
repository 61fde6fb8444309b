/**
 * Helpers for integration tests against moto_server: clients bound to an endpoint, the `Pipeline` table
 * (keys from contracts/table-keys.ts, the same shape as the Data stack's table) and buckets.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GSI1_NAME, GSI1_PK, GSI1_SK, TABLE_PK, TABLE_SK } from '../../contracts/table-keys';

export interface TestClients {
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sageMaker: SageMakerClient;
}

const REGION = () => process.env.AWS_REGION || 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Clients pointed at `endpoint` (moto), independent of process.env, with path-style S3 as moto needs. */
export function testClients(endpoint: string): TestClients {
  const common = { endpoint, region: REGION(), credentials: CREDENTIALS };
  const ddb = new DynamoDBClient(common);
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    sageMaker: new SageMakerClient(common),
  };
}

let counter = 0;
/** A name unique within this test process, valid for S3 buckets and DynamoDB tables (lowercase, digits, dashes). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`.toLowerCase();
}

/** Create the `Pipeline` table: pk/sk strings, PAY_PER_REQUEST, sparse GSI `gsi1` (gsi1pk/gsi1sk, ALL). */
export async function createPipelineTable(ddb: DynamoDBClient, tableName = uniqueName('pipeline')): Promise<string> {
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLE_PK, AttributeType: 'S' },
        { AttributeName: TABLE_SK, AttributeType: 'S' },
        { AttributeName: GSI1_PK, AttributeType: 'S' },
        { AttributeName: GSI1_SK, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: TABLE_PK, KeyType: 'HASH' },
        { AttributeName: TABLE_SK, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: GSI1_NAME,
          KeySchema: [
            { AttributeName: GSI1_PK, KeyType: 'HASH' },
            { AttributeName: GSI1_SK, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  return tableName;
}

export async function deleteTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  await ddb.send(new DeleteTableCommand({ TableName: tableName }));
}

/** Create a bucket (versioning off, like a fresh moto bucket). */
export async function createBucket(s3: S3Client, bucket = uniqueName('bucket')): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Delete every object version and the bucket. */
export async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
    );
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
      .filter((v): v is typeof v & { Key: string } => typeof v.Key === 'string')
      .map((v) => ({ Key: v.Key, VersionId: v.VersionId }));
    if (objects.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}
