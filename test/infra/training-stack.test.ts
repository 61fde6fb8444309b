import { App } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { TrainingState } from '../../contracts/states/names';
import { loadConfig } from '../../lib/config';
import { DataStack } from '../../lib/stacks/data-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { TrainingStack } from '../../lib/stacks/training-stack';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

// asl-validator ships no type declarations.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: () => string;
};

function build(extra: Record<string, unknown> = {}) {
  const app = new App({ context: testContext(extra) });
  const config = loadConfig(app.node);
  const data = new DataStack(app, 'Data', { config });
  const network = new NetworkStack(app, 'Network', { config, encryptionKey: data.key });
  const training = new TrainingStack(app, 'Training', {
    config,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    vpc: network.vpc,
    trainingSecurityGroups: [network.functionsSecurityGroup],
    codeVersion: 'test-sha',
  });
  return { template: Template.fromStack(training), config };
}

type Json = Record<string, unknown>;

/** The definition with every CFN intrinsic replaced by a placeholder string (enough for structure assertions). */
function definitionOf(template: Template): { States: Record<string, Json>; StartAt: string } {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [sm] = Object.values(machines) as { Properties: { DefinitionString: unknown } }[];
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(flatten).join('');
    const o = v as Json;
    if (o['Fn::Join']) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if (o.Ref === 'AWS::Partition') return 'aws';
    if (o['Fn::GetAtt']) return 'arn:aws:lambda:us-east-1:123456789012:function:TOKEN';
    return 'TOKEN';
  };
  return JSON.parse(flatten(sm!.Properties.DefinitionString));
}

const { template, config } = build();
const definition = definitionOf(template);
const S = TrainingState;

describe('Training stack', () => {
  it('the definition is valid ASL with the contract state names in order', () => {
    const res = aslValidator(definition);
    expect(res.errorsText()).toBe('');
    expect(res.isValid).toBe(true);
    expect(definition.StartAt).toBe(S.StartRun);
    const next = (s: string) => definition.States[s]?.Next;
    expect(next(S.StartRun)).toBe(S.PlanTrainingData);
    expect(next(S.PlanTrainingData)).toBe(S.ProfileTrainingData);
    expect(next(S.ProfileTrainingData)).toBe(S.BuildPreprocessingSpec);
    expect(next(S.BuildPreprocessingSpec)).toBe(S.EncodeTrainingData);
    expect(next(S.EncodeTrainingData)).toBe(S.PrepareTrainingData);
    expect(next(S.PrepareTrainingData)).toBe(S.Train);
    expect(next(S.Train)).toBe(S.PrepareEvaluation);
    expect(next(S.PrepareEvaluation)).toBe(S.ScoreValidation);
    expect(next(S.ScoreValidation)).toBe(S.EvaluateModel);
    expect(next(S.EvaluateModel)).toBe(S.ModelGate);
    // Both models transform the candidate's validation channel in parallel, the label joined to the score.
    const parallel = definition.States[S.ScoreValidation] as unknown as {
      Type: string;
      ResultPath: string;
      Branches: { StartAt: string; States: Record<string, Record<string, unknown>> }[];
    };
    expect(parallel).toMatchObject({ Type: 'Parallel', ResultPath: '$.scoring' });
    expect(parallel.Branches.map((b) => b.StartAt)).toEqual([S.ScoreCandidate, S.HasChampion]);
    const candidate = parallel.Branches[0]!.States[S.ScoreCandidate]!;
    expect(candidate).toMatchObject({
      Parameters: {
        'TransformJobName.$': '$.plan.candidate.transformJobName',
        TransformInput: {
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', 'S3Uri.$': '$.plan.candidate.inputUri' } },
        },
        DataProcessing: { InputFilter: '$[1:]', JoinSource: 'Input', OutputFilter: '$[0,-1]' },
      },
    });
    expect(parallel.Branches[1]!.States[S.ScoreChampion]).toMatchObject({
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: S.ChampionScoringFailed }],
    });
    expect(definition.States[S.ModelGate]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.evaluation.passed', BooleanEquals: true, Next: S.RegisterModel }],
      Default: S.RecordGateFailure,
    });
    expect(next(S.RegisterModel)).toBe(S.NotifyApprovers);
    expect(next(S.NotifyApprovers)).toBe(S.CompleteRun);
    expect(definition.States[S.CompleteRun]?.End).toBe(true);
    expect(next(S.RecordGateFailure)).toBe(S.GateFailed);
    expect(definition.States[S.GateFailed]).toMatchObject({ Type: 'Fail', ErrorPath: '$.gateFailure.error' });
    expect(next(S.RecordFailure)).toBe(S.Alert);
    expect(next(S.Alert)).toBe(S.Fail);
    expect(definition.States[S.Fail]).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  it('every working state catches into RecordFailure with the error at $.error', () => {
    for (const s of [
      S.StartRun,
      S.PrepareTrainingData,
      S.Train,
      S.PrepareEvaluation,
      S.ScoreValidation,
      S.EvaluateModel,
      S.RegisterModel,
      S.NotifyApprovers,
      S.CompleteRun,
      S.RecordGateFailure,
    ]) {
      expect({ s, catch: definition.States[s]?.Catch }).toEqual({
        s,
        catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: S.RecordFailure }],
      });
    }
    expect(definition.States[S.RecordFailure]).toMatchObject({
      Parameters: { 'runId.$': '$$.Execution.Name', kind: 'training', 'error.$': '$.error' },
      Catch: [{ ErrorEquals: ['States.ALL'], Next: S.Alert }],
    });
  });

  it('Train: .sync XGBoost job with spot, checkpoints, KMS, VPC, network isolation and retries', () => {
    const train = definition.States[S.Train]!;
    expect(train).toMatchObject({
      Type: 'Task',
      Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync',
      ResultPath: '$.training',
    });
    const p = train.Parameters as Json;
    expect(p).toMatchObject({
      'TrainingJobName.$': "States.Format('{}-a{}', $.run.trainingJobName, $$.State.RetryCount)",
      AlgorithmSpecification: { TrainingInputMode: 'File' },
      HyperParameters: { ...config.training.hyperparameters },
      EnableManagedSpotTraining: true,
      CheckpointConfig: { 'S3Uri.$': '$.run.checkpointUri' },
      StoppingCondition: {
        MaxRuntimeInSeconds: config.training.maxRuntimeSeconds,
        MaxWaitTimeInSeconds: config.training.maxWaitSeconds,
      },
      ResourceConfig: { InstanceType: config.training.instanceType, InstanceCount: 1, VolumeKmsKeyId: 'TOKEN' },
      OutputDataConfig: { 'S3OutputPath.$': '$.run.modelOutputUri', KmsKeyId: 'TOKEN' },
      EnableNetworkIsolation: true,
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          DataSource: { S3DataSource: { 'S3Uri.$': '$.data.trainUri' } },
        },
        {
          ChannelName: 'validation',
          ContentType: 'text/csv',
          DataSource: { S3DataSource: { 'S3Uri.$': '$.data.validationUri' } },
        },
      ],
    });
    expect(String((p.AlgorithmSpecification as Json).TrainingImage)).toContain('/sagemaker-xgboost:1.7-1');
    const vpc = p.VpcConfig as { Subnets: unknown[]; SecurityGroupIds: unknown[] };
    expect(vpc.Subnets).toHaveLength(2);
    expect(vpc.SecurityGroupIds).toHaveLength(1);
    // Step Functions applies the first retrier whose ErrorEquals matches: limits, then throttling, then requests that
    // cannot succeed (validation, access denied: not retried), and only then the catch-all for a failed job.
    const retry = train.Retry as { ErrorEquals: string[]; MaxAttempts: number }[];
    expect(retry.map((r) => [r.ErrorEquals, r.MaxAttempts])).toEqual([
      [['SageMaker.ResourceLimitExceededException', 'SageMaker.ResourceInUseException'], 3],
      [['SageMaker.ThrottlingException', 'ThrottlingException'], 5],
      [
        [
          'SageMaker.AmazonSageMakerException',
          'SageMaker.ValidationException',
          'SageMaker.AccessDeniedException',
          'States.Permissions',
        ],
        0,
      ],
      [['States.TaskFailed'], 1],
    ]);
  });

  it('the XGBoost image comes from the region mapping (env-agnostic stack)', () => {
    const sm = template.findResources('AWS::StepFunctions::StateMachine');
    const text = JSON.stringify(Object.values(sm)[0]);
    expect(text).toContain('"Fn::FindInMap":["XgboostImageRegistryAccounts",{"Ref":"AWS::Region"},"account"]');
    template.hasMapping('XgboostImageRegistryAccounts', { 'eu-west-1': { account: '141502667606' } });
  });

  it('state machine: X-Ray, KMS log group, ALL events without execution data', () => {
    const logGroup = new Capture();
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'mlops-batch-dev-training',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logGroup, 'Arn'] } } }],
      },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { KmsKeyId: Match.anyValue() },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup'))).toContain(logGroup.asString());
  });

  it('approval rule matches this group only and targets the approval function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        detail: { ModelPackageGroupName: ['mlops-batch-dev-churn'] },
      },
      Targets: [
        Match.objectLike({
          RetryPolicy: { MaximumRetryAttempts: 8 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApprovalEventsDeadLetterQueue'), 'Arn'] } },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('ApprovalEventsDeadLetterQueue'), 'Arn'] },
        },
      },
    });
  });

  it('approver topic is KMS-encrypted; functions get the contract environment', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'mlops-batch dev model approvals',
      KmsMasterKeyId: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          GATE_MIN_AUC: String(config.gate.minAuc),
          GATE_MAX_LOGLOSS: String(config.gate.maxLogloss),
          GATE_MAX_AUC_DROP: String(config.gate.maxAucDropVsProduction),
          MODEL_PACKAGE_GROUP_NAME: 'mlops-batch-dev-churn',
          CODE_VERSION: 'test-sha',
        }),
      },
      Metadata: Match.absent(),
    });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: Match.objectLike({ 'mlops:entry': 'lambdas/functions/approval-event/handler.ts' }),
      Properties: {
        Environment: {
          Variables: Match.objectLike({
            START_BATCH_ON_APPROVAL: 'false',
            BATCH_STATE_MACHINE_ARN: Match.anyValue(),
          }),
        },
      },
    });
  });

  it('IAM: no * action anywhere; training role scoped to training/ and passed only to SageMaker', () => {
    for (const [id, policy] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
      const doc = (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
        .Properties.PolicyDocument;
      for (const st of doc.Statement) {
        for (const a of ([] as string[]).concat(st.Action))
          expect(`${id}:${a}`).not.toMatch(/:\*$|^[^:]*:[a-z0-9]+:\*$/);
      }
    }
    const statement = (st: Json) =>
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(st)]) },
      });
    statement({
      Sid: 'PassTrainingRole',
      Action: 'iam:PassRole',
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    statement({
      Sid: 'RunTrainingJobs',
      Action: Match.arrayWith(['sagemaker:CreateTrainingJob', 'sagemaker:DescribeTrainingJob']),
    });
    statement({
      Sid: 'SyncTrainingJobEvents',
      Resource: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([':rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule'])],
      }),
    });
    statement({ Sid: 'ReadTrainingData', Action: 's3:GetObject' });
    // Built-in images are pulled with SageMaker's own credentials: the job role gets no ECR grant.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('ecr:');
    // The data key is usable by the job role through SageMaker/EC2 (volume, output) and S3 only.
    statement({
      Sid: 'DataKeyForVolumeAndOutput',
      Condition: {
        StringEquals: {
          'kms:ViaService': [
            { 'Fn::Join': ['', ['sagemaker.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            { 'Fn::Join': ['', ['ec2.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
      },
    });
  });

  it('PrepareTrainingData fans out: two Distributed Maps over the tasks file, results to S3, caught into RecordFailure', () => {
    for (const [map, item] of [
      [S.ProfileTrainingData, S.ProfileTask],
      [S.EncodeTrainingData, S.EncodeTask],
    ] as const) {
      expect(definition.States[map]).toMatchObject({
        Type: 'Map',
        MaxConcurrency: config.training.prepareConcurrency,
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { 'Bucket.$': '$.data.bucket', 'Key.$': '$.data.tasksKey' },
        },
        ResultWriter: {
          // Per execution: RecordFailure lists the run's folder for a failed item.
          Parameters: {
            'Bucket.$': '$.data.bucket',
            'Prefix.$': "States.Format('training/prepare-results/{}/', $$.Execution.Name)",
          },
        },
        ItemSelector: {
          'runId.$': '$.run.runId',
          'task.$': '$$.Map.Item.Value.task',
          'keys.$': '$$.Map.Item.Value.keys',
        },
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: item },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: S.RecordFailure }],
      });
    }
    // The last step replaces the plan at $.data with today's payload, so Train and the rest read what they read.
    expect(definition.States[S.PrepareTrainingData]).toMatchObject({ ResultPath: '$.data' });
    expect(definition.States[S.PlanTrainingData]).toMatchObject({ ResultPath: '$.data' });
  });

  it('distributed training adds a self-referencing security group and inter-container encryption', () => {
    const multi = build({
      environments: {
        dev: { training: { instanceCount: 2 } },
      },
    });
    const train = definitionOf(multi.template).States[S.Train]!.Parameters as Json;
    expect((train.VpcConfig as { SecurityGroupIds: unknown[] }).SecurityGroupIds).toHaveLength(2);
    expect(train.EnableInterContainerTrafficEncryption).toBe(true);
    multi.template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      Description: 'between training instances',
    });
  });

  it('with several instances the train channel is sharded by key, validation replicated; prepare writes the shards', () => {
    const distribution = (t: Template) =>
      (definitionOf(t).States[S.Train]!.Parameters as { InputDataConfig: Json[] }).InputDataConfig.map((c) => [
        c.ChannelName,
        ((c.DataSource as Json).S3DataSource as Json).S3DataDistributionType,
      ]);
    expect(distribution(template)).toEqual([
      ['train', 'FullyReplicated'],
      ['validation', 'FullyReplicated'],
    ]);
    const multi = build({
      environments: { dev: { training: { instanceCount: 3, maxRowsPerShard: 250_000 } } },
    });
    expect(distribution(multi.template)).toEqual([
      ['train', 'ShardedByS3Key'],
      ['validation', 'FullyReplicated'],
    ]);
    multi.template.hasResource('AWS::Lambda::Function', {
      Metadata: Match.objectLike({ 'mlops:entry': 'lambdas/functions/prepare-training-data/handler.ts' }),
      Properties: {
        Environment: {
          Variables: Match.objectLike({ TRAINING_INSTANCE_COUNT: '3', TRAIN_SHARD_MAX_ROWS: '250000' }),
        },
      },
    });
  });
});
