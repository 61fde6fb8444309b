import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { AppConfig } from '../../config';
import { acknowledgeWildcards } from '../wildcards';
import {
  SAGEMAKER_LIMIT_ERRORS,
  SAGEMAKER_NOT_RETRIED,
  SAGEMAKER_THROTTLING_ERRORS,
  sageMakerKeyServices,
} from './train-job';

/**
 * Rows of a transform input part are `<entity_id>,<segment>,<encoded features…>`: the model sees the features only,
 * and each output row is the id and segment joined to the score.
 */
export const TRANSFORM_DATA_PROCESSING = {
  InputFilter: '$[2:]',
  JoinSource: 'Input',
  OutputFilter: '$[0,1,-1]',
} as const;

/**
 * Rows of the validation channel are `<label>,<encoded features…>`: the model sees the features only, and each output
 * row is the label joined to the score (what EvaluateModel reads for the candidate and the champion alike).
 */
export const EVALUATION_DATA_PROCESSING = {
  InputFilter: '$[1:]',
  JoinSource: 'Input',
  OutputFilter: '$[0,-1]',
} as const;

/**
 * Timeout of the Transform state: the lock lease minus the time the steps after it need (an hour, or a quarter of a
 * short lease), at least 5 minutes. On timeout Step Functions stops the job and the failure path runs.
 */
export function transformTimeoutSeconds(lockLeaseSeconds: number): number {
  const reserve = Math.min(3600, Math.floor(lockLeaseSeconds / 4));
  return Math.max(300, lockLeaseSeconds - reserve);
}

/** Properties of {@link SageMakerTransformJob}. */
export interface SageMakerTransformJobProps {
  /** Transform settings: instances, payload size, concurrency. */
  readonly settings: AppConfig['transform'];
  /** Key of the transform output and volume. */
  readonly encryptionKey: kms.IKey;
  /** Prefix of every job name this state starts (`<prefix>-…`); the state machine may run only those jobs. */
  readonly jobNamePrefix: string;
  /** JSONPath of the job name (derived from the run id, so a retry cannot start a duplicate). */
  readonly jobNamePath: string;
  /** JSONPath of the SageMaker Model to run. */
  readonly modelNamePath: string;
  /** JSONPath of the input: a manifest (`ManifestFile`) or a prefix (`S3Prefix`, see {@link inputType}). */
  readonly manifestUriPath: string;
  /**
   * What the input path names.
   * @default 'ManifestFile'
   */
  readonly inputType?: 'ManifestFile' | 'S3Prefix';
  /**
   * Input filter, join and output filter.
   * @default - {@link TRANSFORM_DATA_PROCESSING} (batch input: id and segment joined to the score)
   */
  readonly dataProcessing?: {
    readonly InputFilter: string;
    readonly JoinSource: string;
    readonly OutputFilter: string;
  };
  /** JSONPath of the output prefix. */
  readonly outputUriPath: string;
  /** JSONPath of the run id (tag `runId`). */
  readonly runIdPath: string;
  /**
   * Where `{ jobName, status }` goes in the state object.
   * @default - it replaces the state (no ResultPath: the state's output is `{ jobName, status }`)
   */
  readonly resultPath?: string;
  /** Timeout of the state (Step Functions stops the job when it passes). */
  readonly timeout: Duration;
}

/**
 * SageMaker CreateTransformJob `.sync` as raw state JSON: the CDK task lacks `DataProcessing` (input filter, join,
 * output filter). Manifest input split by line, multi-record batches, the data key for output and volume; throttling
 * is retried.
 */
export class SageMakerTransformJob extends sfn.CustomState {
  private readonly props: SageMakerTransformJobProps;

  constructor(scope: Construct, id: string, props: SageMakerTransformJobProps) {
    const keyArn = props.encryptionKey.keyArn;
    const t = props.settings;
    super(scope, id, {
      stateJson: {
        Type: 'Task',
        Resource: `arn:${Stack.of(scope).partition}:states:::sagemaker:createTransformJob.sync`,
        Parameters: {
          'TransformJobName.$': props.jobNamePath,
          'ModelName.$': props.modelNamePath,
          BatchStrategy: 'MultiRecord',
          MaxPayloadInMB: t.maxPayloadInMB,
          MaxConcurrentTransforms: t.maxConcurrentTransforms,
          TransformInput: {
            DataSource: {
              S3DataSource: { S3DataType: props.inputType ?? 'ManifestFile', 'S3Uri.$': props.manifestUriPath },
            },
            ContentType: 'text/csv',
            SplitType: 'Line',
            CompressionType: 'None',
          },
          TransformOutput: {
            'S3OutputPath.$': props.outputUriPath,
            Accept: 'text/csv',
            AssembleWith: 'Line',
            KmsKeyId: keyArn,
          },
          TransformResources: { InstanceType: t.instanceType, InstanceCount: t.instanceCount, VolumeKmsKeyId: keyArn },
          DataProcessing: { ...(props.dataProcessing ?? TRANSFORM_DATA_PROCESSING) },
          Tags: [{ Key: 'runId', 'Value.$': props.runIdPath }],
        },
        ResultSelector: { 'jobName.$': '$.TransformJobName', 'status.$': '$.TransformJobStatus' },
        ...(props.resultPath !== undefined ? { ResultPath: props.resultPath } : {}),
        TimeoutSeconds: props.timeout.toSeconds(),
      },
    });
    this.props = props;
    // In order (the first matching retrier applies): limits, throttling, then no retry for requests that cannot
    // succeed (see SAGEMAKER_NOT_RETRIED). A failed transform job is not retried here: the run fails, the ledger is
    // untouched and the next run scores the same objects.
    this.addRetry({
      errors: SAGEMAKER_LIMIT_ERRORS,
      interval: Duration.seconds(120),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    this.addRetry({
      errors: SAGEMAKER_THROTTLING_ERRORS,
      interval: Duration.seconds(15),
      maxAttempts: 5,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    this.addRetry({ errors: [...SAGEMAKER_NOT_RETRIED], maxAttempts: 0 });
  }

  /**
   * What `createTransformJob.sync` needs on the state machine's role: the jobs (prefix-scoped) and their tags, the
   * managed EventBridge rule, and the key: with VolumeKmsKeyId/KmsKeyId the caller must describe the key and create a
   * grant for the transform instances (only for AWS resources).
   */
  public grantRun(stateMachine: sfn.StateMachine): void {
    const stack = Stack.of(this);
    const keyArn = this.props.encryptionKey.keyArn;
    const jobs = stack.formatArn({
      service: 'sagemaker',
      resource: 'transform-job',
      resourceName: `${this.props.jobNamePrefix}-*`,
    });
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunTransformJobs',
        actions: [
          'sagemaker:CreateTransformJob',
          'sagemaker:DescribeTransformJob',
          'sagemaker:StopTransformJob',
          'sagemaker:AddTags',
          'sagemaker:ListTags',
        ],
        resources: [jobs],
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SyncTransformJobEvents',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForSageMakerTransformJobsRule',
          }),
        ],
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TransformKmsGrant',
        actions: ['kms:CreateGrant'],
        resources: [keyArn],
        conditions: {
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
          StringEquals: { 'kms:ViaService': sageMakerKeyServices(this) },
        },
      }),
    );
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TransformKmsDescribe',
        actions: ['kms:DescribeKey'],
        resources: [keyArn],
        conditions: { StringEquals: { 'kms:ViaService': sageMakerKeyServices(this) } },
      }),
    );
    acknowledgeWildcards(
      stateMachine.role,
      `Transform jobs are named ${this.props.jobNamePrefix}-<run id>-<hash> per run (known only at run time).`,
      jobs,
    );
  }
}
