import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { GetBucketVersioningCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { DescribeModelPackageGroupCommand } from '@aws-sdk/client-sagemaker';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';
import { resolveResources } from '../../../local/runtime/inventory';
import { createTableInput, provision } from '../../../local/runtime/provision';
import { synthesizeApp } from '../../../local/runtime/synth';
import { testClients } from '../../support/aws';
import { describeWithServers } from '../../support/servers';
import { buildFixtureApp } from './fixtures/fixture-app';

const resources = resolveResources(synthesizeApp({ build: buildFixtureApp, useCdkJson: false }));

describe('createTableInput', () => {
  it('keeps keys and GSIs and drops what CreateTable does not take', () => {
    const input = createTableInput(resources.tables[0]!);
    expect(input).toEqual({
      TableName: resources.tables[0]!.name,
      AttributeDefinitions: expect.arrayContaining([{ AttributeName: 'gsi1pk', AttributeType: 'S' }]),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('names the table when the template lacks a key schema', () => {
    expect(() => createTableInput({ ...resources.tables[0]!, properties: {} })).toThrow(/has no KeySchema/);
  });
});

describeWithServers('provision against moto', { moto: true }, (env) => {
  it('creates buckets, table with GSI, topic and model package group from the template, idempotently', async () => {
    const c = testClients(env.moto.endpoint);
    const sns = new SNSClient({ endpoint: env.moto.endpoint, region: 'us-east-1' });
    const withTtl = {
      ...resources,
      tables: resources.tables.map((t) => ({
        ...t,
        properties: { ...t.properties, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } },
      })),
    };
    const clients = { s3: c.s3, dynamodb: c.ddb, sns, sageMaker: c.sageMaker };
    const first = await provision(withTtl, clients);
    expect(first.existing).toEqual([]);
    const bucket = resources.buckets[0]!.name;
    await expect(c.s3.send(new HeadBucketCommand({ Bucket: bucket }))).resolves.toBeDefined();
    expect((await c.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
    const table = await c.ddb.send(new DescribeTableCommand({ TableName: resources.tables[0]!.name }));
    expect(table.Table?.GlobalSecondaryIndexes?.[0]?.IndexName).toBe('gsi1');
    const ttl = await c.ddb.send(new DescribeTimeToLiveCommand({ TableName: resources.tables[0]!.name }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe('ttl');
    const topics = await sns.send(new ListTopicsCommand({}));
    expect(topics.Topics?.map((t) => t.TopicArn)).toContain(resources.topics[0]!.arn);
    const group = await c.sageMaker.send(
      new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'fixture-data-models' }),
    );
    expect(group.ModelPackageGroupArn).toBe(resources.modelPackageGroups[0]!.arn);

    const second = await provision(withTtl, clients);
    expect([...second.existing].sort()).toEqual([bucket, resources.tables[0]!.name, 'fixture-data-models'].sort());
  });
});
