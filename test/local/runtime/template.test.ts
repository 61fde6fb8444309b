/** biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings under test */
import {
  extractDefinition,
  findStateMachines,
  localPhysicalName,
  resolveResources,
  type SynthesizedApp,
  synthesizeApp,
  TemplateResolver,
} from '../../../local/runtime/template';
import { buildFixtureApp } from './fixtures/fixture-app';

let app: SynthesizedApp;
beforeAll(() => {
  app = synthesizeApp({ build: buildFixtureApp, useCdkJson: false });
});

describe('synthesizeApp', () => {
  it('returns every stack with its template', () => {
    expect(app.stacks.map((s) => s.stackName).sort()).toEqual(['Fixture-Data', 'Fixture-Flow']);
    const flow = app.stacks.find((s) => s.stackName === 'Fixture-Flow')!;
    expect(
      Object.values(flow.template.Resources ?? {}).some((r) => r.Type === 'AWS::StepFunctions::StateMachine'),
    ).toBe(true);
  });
  it('restores CDK_VALIDATION afterwards', () => {
    expect(process.env.CDK_VALIDATION).toBeUndefined();
  });
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

describe('TemplateResolver', () => {
  const stack = {
    stackName: 'S',
    path: 'S',
    template: {
      Resources: {
        Bkt: {
          Type: 'AWS::S3::Bucket',
          Properties: { BucketName: { 'Fn::Sub': 'data-${AWS::AccountId}-${AWS::Region}' } },
        },
      },
      Conditions: { IsUsEast: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
      Mappings: { M: { a: { b: 'mapped' } } },
    },
  };
  const r = new TemplateResolver({ stacks: [stack] }, { region: 'eu-west-1', account: '111122223333' });

  it.each([
    [{ Ref: 'Bkt' }, 'data-111122223333-eu-west-1'],
    [{ 'Fn::GetAtt': ['Bkt', 'Arn'] }, 'arn:aws:s3:::data-111122223333-eu-west-1'],
    [
      { 'Fn::Sub': ['${X}/${Bkt.Arn}/${!Literal}', { X: 'x' }] },
      'x/arn:aws:s3:::data-111122223333-eu-west-1/${Literal}',
    ],
    [
      { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Partition' }, { 'Fn::Select': [1, { 'Fn::Split': [',', 'p,q'] }] }]] },
      'a-aws-q',
    ],
    [{ 'Fn::If': ['IsUsEast', 'yes', 'no'] }, 'no'],
    [{ 'Fn::FindInMap': ['M', 'a', 'b'] }, 'mapped'],
    [{ a: 1, b: { Ref: 'AWS::NoValue' } }, { a: 1 }],
  ])('resolves %j', (expr, expected) => {
    expect(r.resolve(stack, expr)).toEqual(expected);
  });

  it('resolves Fn::GetStackOutput to the producing stack output', () => {
    const producer = {
      stackName: 'P',
      path: 'P',
      template: { Resources: {}, Outputs: { O: { Value: { 'Fn::Join': ['', ['v-', { Ref: 'AWS::Region' }]] } } } },
    };
    const two = new TemplateResolver({ stacks: [stack, producer] }, { region: 'eu-west-1' });
    expect(
      two.resolve(stack, { 'Fn::GetStackOutput': { StackName: 'P', Region: { Ref: 'AWS::Region' }, OutputName: 'O' } }),
    ).toBe('v-eu-west-1');
    expect(() => two.resolve(stack, { 'Fn::GetStackOutput': { StackName: 'P', OutputName: 'X' } })).toThrow(
      /no output X in stack P/,
    );
  });

  it('names an unsupported intrinsic', () => {
    expect(() => r.resolve(stack, { 'Fn::Transform': {} })).toThrow(/Unsupported intrinsic Fn::Transform in stack S/);
  });

  it('fails clearly on an unknown reference', () => {
    expect(() => r.resolve(stack, { Ref: 'Missing' })).toThrow(
      /Ref to unknown resource or parameter Missing in stack S/,
    );
  });

  it('limits generated names to 63 valid characters', () => {
    const n = localPhysicalName(
      'A-Very-Long-Stack-Name-For-Testing-Purposes',
      'AndAnEvenLongerLogicalIdABCDEF0123456789',
    );
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^[a-z0-9-]+$/);
  });
});
