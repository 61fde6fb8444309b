import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { keysUnder, TRAINING_PREFIX, trainingKeys } from '../../../contracts/s3-layout';
import type { AppConfig } from '../../config';
import { acknowledge, NagIds } from '../../nag';
import { acknowledgeWildcards } from '../wildcards';

/**
 * Errors of a SageMaker job state that cannot succeed on retry: the request itself is wrong or not allowed. The
 * optimized integration reports SageMaker's unmodeled errors (ValidationException, AccessDeniedException) under the
 * generic `SageMaker.AmazonSageMakerException`; `States.Permissions` is Step Functions' own access denial. Matched by a
 * retrier with `MaxAttempts: 0` placed before the catch-all `States.TaskFailed`, which would otherwise retry them.
 */
export const SAGEMAKER_NOT_RETRIED = [
  'SageMaker.AmazonSageMakerException',
  'SageMaker.ValidationException',
  'SageMaker.AccessDeniedException',
  'States.Permissions',
] as const;

/** Account limits and names in use clear up with time: the specific retrier, matched first. */
export const SAGEMAKER_LIMIT_ERRORS = ['SageMaker.ResourceLimitExceededException', 'SageMaker.ResourceInUseException'];
/** Throttling of the SageMaker API. */
export const SAGEMAKER_THROTTLING_ERRORS = ['SageMaker.ThrottlingException', 'ThrottlingException'];

/**
 * Retries of the Train state, in order: Step Functions uses the first retrier whose ErrorEquals matches, so the
 * specific ones come first and the catch-all `States.TaskFailed` (a failed job) last.
 */
export const SAGEMAKER_TRAIN_RETRIES = [
  {
    ErrorEquals: SAGEMAKER_LIMIT_ERRORS,
    IntervalSeconds: 120,
    MaxAttempts: 3,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  {
    ErrorEquals: SAGEMAKER_THROTTLING_ERRORS,
    IntervalSeconds: 15,
    MaxAttempts: 5,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
  { ErrorEquals: [...SAGEMAKER_NOT_RETRIED], MaxAttempts: 0 },
  {
    // The job itself failed (capacity, spot capacity beyond MaxWait, internal error): one more job.
    ErrorEquals: ['States.TaskFailed'],
    IntervalSeconds: 300,
    MaxAttempts: 1,
    BackoffRate: 1,
  },
];

/**
 * How the train channel reaches the instances. With one instance the whole channel is the data either way. With n > 1,
 * `ShardedByS3Key` gives each instance about 1/n of the channel's objects (S3DataSource, SageMaker API reference:
 * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html), so each trains on its own rows
 * and XGBoost's distributed mode combines their histograms; `FullyReplicated` would copy every row to every instance
 * and train n times on the same data. PrepareTrainingData writes a multiple of n equal shards (lambdas/data/shards.ts),
 * so every instance gets the same number of rows. The validation channel stays `FullyReplicated`: every instance
 * evaluates the same, whole validation set, whose metrics the gate reads.
 */
export function trainDistribution(instanceCount: number): 'FullyReplicated' | 'ShardedByS3Key' {
  return instanceCount > 1 ? 'ShardedByS3Key' : 'FullyReplicated';
}

/** EC2 actions SageMaker uses for a job in VPC mode (no resource-level permissions). */
const VPC_MODE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:CreateNetworkInterfacePermission',
  'ec2:DeleteNetworkInterface',
  'ec2:DeleteNetworkInterfacePermission',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeVpcs',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeSubnets',
  'ec2:DescribeSecurityGroups',
];

/** Properties of {@link SageMakerTrainJob}. */
export interface SageMakerTrainJobProps {
  /** Training settings: instances, spot, limits, hyperparameters. */
  readonly settings: AppConfig['training'];
  /** Role the job runs with (see {@link createTrainingJobRole}). */
  readonly role: iam.IRole;
  /** Training image (also the inference image of the registered package). */
  readonly imageUri: string;
  /** Key of the training volume and the model output. */
  readonly encryptionKey: kms.IKey;
  /** Subnets of the job (VPC mode). */
  readonly subnetIds: readonly string[];
  /** Security groups of the job. */
  readonly securityGroups: readonly ec2.ISecurityGroup[];
  /** JSONPath of the run-derived job name base; `-a<retry count>` is appended, so every attempt has its own job. */
  readonly jobNameBasePath: string;
  /** JSONPath of the train channel's S3 prefix. */
  readonly trainDataPath: string;
  /** JSONPath of the validation channel's S3 prefix. */
  readonly validationDataPath: string;
  /** JSONPath of the model output prefix. */
  readonly modelOutputPath: string;
  /** JSONPath of the checkpoint prefix (managed spot resumes from here; used with `settings.useSpot`). */
  readonly checkpointPath: string;
  /** JSONPath of the run id (tag `mlops:runId`). */
  readonly runIdPath: string;
  /** Where the DescribeTrainingJob output goes in the state object. */
  readonly resultPath: string;
}

/**
 * SageMaker CreateTrainingJob `.sync` as raw state JSON: the CDK task lacks managed spot (max wait, checkpoints).
 * Built-in XGBoost image, the data key for volume and output, VPC mode with network isolation, and retries on
 * throttling, instance limits and a failed job (capacity, spot capacity beyond MaxWait).
 */
export class SageMakerTrainJob extends sfn.CustomState {
  private readonly props: SageMakerTrainJobProps;

  constructor(scope: Construct, id: string, props: SageMakerTrainJobProps) {
    super(scope, id, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync`,
        Parameters: SageMakerTrainJob.parameters(props),
        ResultPath: props.resultPath,
        Retry: SAGEMAKER_TRAIN_RETRIES,
      },
    });
    this.props = props;
  }

  /** CreateTrainingJob parameters (JSONPath). */
  private static parameters(props: SageMakerTrainJobProps): Record<string, unknown> {
    const t = props.settings;
    const keyArn = props.encryptionKey.keyArn;
    const channel = (name: string, path: string, distribution: 'FullyReplicated' | 'ShardedByS3Key') => ({
      ChannelName: name,
      ContentType: 'text/csv',
      CompressionType: 'None',
      InputMode: 'File',
      DataSource: {
        S3DataSource: { S3DataType: 'S3Prefix', S3DataDistributionType: distribution, 'S3Uri.$': path },
      },
    });
    return {
      'TrainingJobName.$': `States.Format('{}-a{}', ${props.jobNameBasePath}, $$.State.RetryCount)`,
      RoleArn: props.role.roleArn,
      AlgorithmSpecification: { TrainingImage: props.imageUri, TrainingInputMode: 'File' },
      HyperParameters: { ...t.hyperparameters },
      InputDataConfig: [
        channel('train', props.trainDataPath, trainDistribution(t.instanceCount)),
        channel('validation', props.validationDataPath, 'FullyReplicated'),
      ],
      OutputDataConfig: { 'S3OutputPath.$': props.modelOutputPath, KmsKeyId: keyArn },
      ResourceConfig: {
        InstanceType: t.instanceType,
        InstanceCount: t.instanceCount,
        VolumeSizeInGB: t.volumeSizeGb,
        VolumeKmsKeyId: keyArn,
      },
      StoppingCondition: {
        MaxRuntimeInSeconds: t.maxRuntimeSeconds,
        ...(t.useSpot ? { MaxWaitTimeInSeconds: t.maxWaitSeconds } : {}),
      },
      EnableManagedSpotTraining: t.useSpot,
      ...(t.useSpot ? { CheckpointConfig: { 'S3Uri.$': props.checkpointPath } } : {}),
      EnableNetworkIsolation: true,
      EnableInterContainerTrafficEncryption: t.instanceCount > 1,
      VpcConfig: {
        Subnets: [...props.subnetIds],
        SecurityGroupIds: props.securityGroups.map((g) => g.securityGroupId),
      },
      Tags: [
        { Key: 'mlops:runId', 'Value.$': props.runIdPath },
        { Key: 'mlops:workflow', Value: 'training' },
      ],
    };
  }

  /** What `createTrainingJob.sync` needs on the state machine's role: the jobs, passing the job role, the sync rule. */
  public grantRun(stateMachine: sfn.StateMachine): void {
    const stack = Stack.of(this);
    const jobArn = stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' });
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunTrainingJobs',
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [jobArn],
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassTrainingRole',
        actions: ['iam:PassRole'],
        resources: [this.props.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SyncTrainingJobEvents',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTrainingJobsRule',
          }),
        ],
      }),
    );
    acknowledgeWildcards(
      stateMachine.role,
      'Training job names are derived from execution names at run time (one job per attempt); the statement is ' +
        'limited to training jobs of this account and region.',
      jobArn,
    );
  }
}

/** Properties of {@link createTrainingJobRole}. */
export interface TrainingJobRoleProps {
  /** Artifacts bucket: the job reads and writes `training/<runId>/`. */
  readonly artifactsBucket: s3.IBucket;
  /** The data key (S3 objects, training volume, model output). */
  readonly encryptionKey: kms.IKey;
}

/**
 * The least-privilege role of the training jobs, created as `scope`/`id`: its own run folder, the data key, job logs
 * and metrics, and the network interfaces of VPC mode.
 */
export function createTrainingJobRole(scope: Construct, id: string, props: TrainingJobRoleProps): iam.Role {
  const stack = Stack.of(scope);
  const bucket = props.artifactsBucket;
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    description: 'SageMaker training jobs of the Training workflow',
  });
  const jobLogs = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: '/aws/sagemaker/TrainingJobs:*',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  for (const statement of trainingJobStatements(scope, props, jobLogs)) {
    role.addToPolicy(new iam.PolicyStatement(statement));
  }
  acknowledge(role, {
    id: NagIds.iam5Resource,
    reason:
      'SageMaker training role: cloudwatch:PutMetricData (limited by a namespace condition) and the EC2 network-interface actions SageMaker uses for VPC mode do not support resource-level ' +
      'permissions.',
  });
  acknowledgeWildcards(
    role,
    'The job reads and writes its own run folder training/<runId>/ (train, validation, model, checkpoints); run ids ' +
      'are execution names, known only at run time. Its log streams are named by job.',
    bucket.arnForObjects(RUN_FOLDERS),
    bucket.arnForObjects(MODEL_OUTPUTS),
    bucket.arnForObjects(CHECKPOINTS),
    jobLogs,
  );
  return role;
}

/** Every run folder `training/<runId>/…`, and the model output and checkpoints in any of them (artifacts bucket). */
const RUN_FOLDERS = keysUnder(TRAINING_PREFIX);
const MODEL_OUTPUTS = keysUnder(trainingKeys('*').modelPrefix);
const CHECKPOINTS = keysUnder(trainingKeys('*').checkpointPrefix);

/**
 * The services through which a SageMaker job's role uses the data key for the ML volume and the job output: SageMaker
 * itself and EC2 (the encrypted EBS volume of the instance). The `kms:ViaService` condition keeps the role from using
 * the key directly.
 */
export function sageMakerKeyServices(scope: Construct): string[] {
  const region = Stack.of(scope).region;
  return [`sagemaker.${region}.amazonaws.com`, `ec2.${region}.amazonaws.com`];
}

/** The statements of the training job role, in order. */
function trainingJobStatements(
  scope: Construct,
  props: TrainingJobRoleProps,
  jobLogs: string,
): iam.PolicyStatementProps[] {
  const { artifactsBucket: bucket, encryptionKey: key } = props;
  return [
    { sid: 'ReadTrainingData', actions: ['s3:GetObject'], resources: [bucket.arnForObjects(RUN_FOLDERS)] },
    {
      sid: 'WriteModelAndCheckpoints',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
      resources: [bucket.arnForObjects(MODEL_OUTPUTS), bucket.arnForObjects(CHECKPOINTS)],
    },
    {
      sid: 'ListTrainingPrefix',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [RUN_FOLDERS] } },
    },
    {
      sid: 'DataKeyForS3',
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(scope).region}.amazonaws.com` } },
    },
    {
      sid: 'DataKeyForVolumeAndOutput',
      actions: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:DescribeKey',
      ],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': sageMakerKeyServices(scope) } },
    },
    {
      sid: 'DataKeyGrantsForAwsResources',
      actions: ['kms:CreateGrant'],
      resources: [key.keyArn],
      conditions: {
        Bool: { 'kms:GrantIsForAWSResource': 'true' },
        StringEquals: { 'kms:ViaService': sageMakerKeyServices(scope) },
      },
    },
    {
      sid: 'JobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [jobLogs],
    },
    {
      sid: 'JobMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/TrainingJobs', 'aws/sagemaker/*'] } },
    },
    // No ECR statements: SageMaker pulls built-in algorithm images (XGBoost) with its own credentials, not the
    // execution role's (SageMaker API reference, AlgorithmSpecification).
    { sid: 'VpcNetworkInterfaces', actions: VPC_MODE_ACTIONS, resources: ['*'] },
  ];
}
