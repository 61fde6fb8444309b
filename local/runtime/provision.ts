/**
 * Create the stateful resources of the synthesized app in the emulator (moto_server): buckets, DynamoDB tables (with
 * their GSIs and TTL), SNS topics and SageMaker model package groups. Everything comes from the templates via
 * {@link resolveResources}; there is no second, hand-kept list. Idempotent: existing resources are kept.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageGroupCommand,
  DescribeModelPackageGroupCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { CreateTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { LocalResources, LocalTable } from './inventory';
import { publishOutputs } from './published-outputs';

export interface ProvisionClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly sageMaker: SageMakerClient;
  /**
   * Publishes the stacks' outputs as CloudFormation stacks (local/runtime/published-outputs.ts), where the CLI's
   * `--local` finds them. @default - not published
   */
  readonly cloudFormation?: CloudFormationClient;
}

export interface ProvisionReport {
  readonly buckets: readonly string[];
  readonly tables: readonly string[];
  readonly topics: readonly string[];
  readonly modelPackageGroups: readonly string[];
  /** Names that already existed (kept as they were). */
  readonly existing: readonly string[];
}

const errName = (e: unknown) => (e instanceof Error ? e.name : '');

type AttrDef = { AttributeName: string; AttributeType: 'S' | 'N' | 'B' };
type KeyElem = { AttributeName: string; KeyType: 'HASH' | 'RANGE' };
type Projection = { ProjectionType?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; NonKeyAttributes?: string[] };
type Throughput = { ReadCapacityUnits: number; WriteCapacityUnits: number };
interface IndexProps {
  IndexName: string;
  KeySchema: KeyElem[];
  Projection?: Projection;
  ProvisionedThroughput?: Throughput;
}

/** Map the CloudFormation table properties to a CreateTable request (only what the emulator needs). */
export function createTableInput(table: LocalTable): CreateTableCommandInput {
  const p = table.properties as {
    AttributeDefinitions?: AttrDef[];
    KeySchema?: KeyElem[];
    BillingMode?: 'PAY_PER_REQUEST' | 'PROVISIONED';
    ProvisionedThroughput?: Throughput;
    GlobalSecondaryIndexes?: IndexProps[];
    LocalSecondaryIndexes?: IndexProps[];
  };
  if (!p.KeySchema || !p.AttributeDefinitions) {
    throw new Error(
      `Table ${table.logicalId} (${table.stackName}) has no KeySchema/AttributeDefinitions in its template`,
    );
  }
  const provisioned =
    p.BillingMode === 'PROVISIONED' || (p.BillingMode === undefined && p.ProvisionedThroughput !== undefined);
  const index = (i: IndexProps) => ({
    IndexName: i.IndexName,
    KeySchema: i.KeySchema,
    Projection: {
      ProjectionType: i.Projection?.ProjectionType ?? 'ALL',
      ...(i.Projection?.NonKeyAttributes ? { NonKeyAttributes: i.Projection.NonKeyAttributes } : {}),
    },
  });
  return {
    TableName: table.name,
    AttributeDefinitions: p.AttributeDefinitions,
    KeySchema: p.KeySchema,
    ...(provisioned
      ? {
          BillingMode: 'PROVISIONED',
          ProvisionedThroughput: p.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
        }
      : { BillingMode: 'PAY_PER_REQUEST' }),
    ...(p.GlobalSecondaryIndexes?.length
      ? {
          GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((i) => ({
            ...index(i),
            ...(provisioned
              ? { ProvisionedThroughput: i.ProvisionedThroughput ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }
              : {}),
          })),
        }
      : {}),
    ...(p.LocalSecondaryIndexes?.length ? { LocalSecondaryIndexes: p.LocalSecondaryIndexes.map(index) } : {}),
  };
}

/** Create everything in `resources` that the emulator does not have yet. */
export async function provision(resources: LocalResources, clients: ProvisionClients): Promise<ProvisionReport> {
  const existing: string[] = [];

  for (const b of resources.buckets) {
    // us-east-1 CreateBucket succeeds for a bucket one already owns, so ask first.
    const exists = await clients.s3.send(new HeadBucketCommand({ Bucket: b.name })).then(
      () => true,
      () => false,
    );
    if (exists) {
      existing.push(b.name);
    } else {
      try {
        await clients.s3.send(new CreateBucketCommand({ Bucket: b.name }));
      } catch (e) {
        if (errName(e) !== 'BucketAlreadyOwnedByYou') {
          throw new Error(
            `Creating bucket ${b.name} (${b.constructPath ?? b.logicalId}) failed: ${(e as Error).message}`,
          );
        }
      }
    }
    if (b.versioned) {
      await clients.s3.send(
        new PutBucketVersioningCommand({ Bucket: b.name, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }
  }

  for (const t of resources.tables) {
    try {
      await clients.dynamodb.send(new CreateTableCommand(createTableInput(t)));
      await waitUntilTableExists({ client: clients.dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: t.name });
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) {
        throw new Error(`Creating table ${t.name} (${t.constructPath ?? t.logicalId}) failed: ${(e as Error).message}`);
      }
      existing.push(t.name);
      await clients.dynamodb.send(new DescribeTableCommand({ TableName: t.name }));
    }
    const ttl = t.properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    if (ttl?.Enabled && ttl.AttributeName) {
      try {
        await clients.dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName: t.name,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      } catch (e) {
        // Enabling TTL twice is a ValidationException ("TimeToLive is already enabled"); anything else is real.
        if (errName(e) !== 'ValidationException') throw e;
      }
    }
  }

  for (const topic of resources.topics) {
    // CreateTopic is idempotent for the same name and attributes.
    await clients.sns.send(new CreateTopicCommand({ Name: topic.name }));
  }

  for (const g of resources.modelPackageGroups) {
    try {
      await clients.sageMaker.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: g.name }));
      existing.push(g.name);
    } catch {
      await clients.sageMaker.send(
        new CreateModelPackageGroupCommand({
          ModelPackageGroupName: g.name,
          ...(g.description ? { ModelPackageGroupDescription: g.description } : {}),
        }),
      );
    }
  }

  if (clients.cloudFormation) await publishOutputs(resources, clients.cloudFormation);

  return {
    buckets: resources.buckets.map((b) => b.name),
    tables: resources.tables.map((t) => t.name),
    topics: resources.topics.map((t) => t.name),
    modelPackageGroups: resources.modelPackageGroups.map((g) => g.name),
    existing,
  };
}
