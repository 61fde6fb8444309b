import { extractDefinition, findStateMachines, resolveResources } from '../../../local/runtime/inventory';
import { type SynthesizedApp, synthesizeApp } from '../../../local/runtime/synth';
import { buildFixtureApp } from './fixtures/fixture-app';

let app: SynthesizedApp;
beforeAll(() => {
  app = synthesizeApp({ build: buildFixtureApp, useCdkJson: false });
});

describe('resolveResources', () => {
  it('names buckets, tables, topics and groups deterministically', () => {
    const r = resolveResources(app);
    const again = resolveResources(synthesizeApp({ build: buildFixtureApp, useCdkJson: false }));
    expect(r.buckets).toHaveLength(1);
    expect(r.buckets[0]!.name).toMatch(/^fixture-data-features[a-z0-9]+$/);
    expect(r.buckets[0]!.versioned).toBe(true);
    expect(again.buckets[0]!.name).toBe(r.buckets[0]!.name);
    expect(r.topics[0]!.arn).toBe(`arn:aws:sns:${r.region}:123456789012:${r.topics[0]!.name}`);
    expect(r.modelPackageGroups[0]).toMatchObject({ name: 'fixture-data-models', description: 'fixture group' });
    expect(r.modelPackageGroups[0]!.arn).toBe(
      `arn:aws:sagemaker:${r.region}:123456789012:model-package-group/fixture-data-models`,
    );
  });

  it('keeps the table key schema and its GSI', () => {
    const [table] = resolveResources(app).tables;
    expect(table!.properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table!.properties.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'gsi1',
        KeySchema: expect.arrayContaining([{ AttributeName: 'gsi1pk', KeyType: 'HASH' }]),
      }),
    ]);
  });

  it('resolves each function environment across stacks (Fn::ImportValue) and reads mlops:entry', () => {
    const r = resolveResources(app);
    const echo = Object.values(r.functions).find((f) => f.entry === 'test/local/runtime/fixtures/handlers/echo.ts')!;
    expect(echo).toBeDefined();
    expect(echo.environment).toEqual({
      FEATURES_BUCKET: r.buckets[0]!.name,
      TABLE_NAME: r.tables[0]!.name,
      APPROVER_TOPIC_ARN: r.topics[0]!.arn,
      MODEL_PACKAGE_GROUP_NAME: 'fixture-data-models',
      BUCKET_ARN: `arn:aws:s3:::${r.buckets[0]!.name}`,
    });
    expect(echo.arn).toBe(`arn:aws:lambda:${r.region}:123456789012:function:${echo.name}`);
    expect(echo.timeoutSeconds).toBe(30);
    expect(echo.handlerExport).toBe('handler');
  });

  it('resolves stack outputs', () => {
    const r = resolveResources(app);
    expect(r.outputs['Fixture-Data.BucketName']).toBe(r.buckets[0]!.name);
  });
});

describe('extractDefinition', () => {
  it('resolves the definition to local ARNs and keeps state names', () => {
    const def = extractDefinition(app, 'Training');
    expect(def.StartAt).toBe('Prepare');
    expect(Object.keys(def.States)).toEqual(
      expect.arrayContaining([
        'Prepare',
        'Train',
        'EachItem',
        'ShouldExplode?',
        'Explode',
        'RecordFailure',
        'Failed',
        'Done',
      ]),
    );
    const fns = resolveResources(app).functions;
    const echo = Object.values(fns).find((f) => f.entry?.endsWith('echo.ts'))!;
    expect(def.States.Prepare!.Resource).toBe(echo.arn);
    expect(JSON.stringify(def)).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    const train = def.States.Train as { Parameters: { OutputDataConfig: { S3OutputPath: string } } };
    expect(train.Parameters.OutputDataConfig.S3OutputPath).toBe(
      `s3://${resolveResources(app).buckets[0]!.name}/models/`,
    );
  });

  it('matches by construct path too and reports the physical name', () => {
    const [sm] = findStateMachines(app, 'Fixture-Flow/Training');
    expect(sm).toBeDefined();
    expect(sm!.arn).toMatch(/^arn:aws:states:[a-z0-9-]+:123456789012:stateMachine:fixture-flow-training/);
  });

  it('names the state machines when nothing matches', () => {
    expect(() => extractDefinition(app, 'Nope')).toThrow(
      /No state machine matches "Nope"; state machines: Fixture-Flow\/Training/,
    );
  });
});
