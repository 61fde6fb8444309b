import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { keysUnder, TRAINING_PREFIX, trainingKeys } from '../../contracts/s3-layout';
import type { AppConfig } from '../config';
import type { ProjectFunction } from './project-function';
import { acknowledgeWildcards } from './wildcards';

/**
 * Access for scoring the candidate's validation channel with the candidate and the Production model (the
 * PrepareEvaluation → ScoreValidation → EvaluateModel part of the Training workflow).
 */

/** Prefix of the evaluation's SageMaker Models and transform jobs (`<prefix>-ev-<hash>-cand|-v<N>`). */
export function evaluationNamePrefix(config: Pick<AppConfig, 'namePrefix' | 'envName'>): string {
  return `${config.namePrefix}-${config.envName}`.slice(0, 40).replace(/-+$/, '');
}

/** Every run's evaluation folder `training/<runId>/evaluation/…` (scores and the re-imputed champion input). */
const EVALUATION_FOLDERS = keysUnder(`${TRAINING_PREFIX}*/evaluation/`);

/** Properties of {@link grantEvaluation}. */
export interface EvaluationAccessProps {
  readonly config: AppConfig;
  readonly artifactsBucket: s3.IBucket;
  readonly encryptionKey: kms.IKey;
  readonly modelPackageGroupName: string;
  /** Role the evaluation Models run with (the training job role, extended here). */
  readonly modelRole: iam.Role;
}

/**
 * PrepareEvaluation: read the registry and both preprocessing specs, write the re-imputed champion input, create the
 * evaluation Models (named by prefix) and pass them the model role. EvaluateModel: read both models' scores.
 */
export function grantEvaluation(
  prepare: ProjectFunction,
  evaluate: ProjectFunction,
  props: EvaluationAccessProps,
): void {
  const { artifactsBucket: bucket, encryptionKey: key } = props;
  const group = props.modelPackageGroupName;
  const reason = 'Run folders training/<runId>/ are named by execution, known only at run time.';
  prepare.grantModelPackageRead(group);
  prepare.grantObjects(bucket, TRAINING_PREFIX, 'read', { key, reason });
  prepare.grantListPrefix(bucket, TRAINING_PREFIX);
  const championInput = bucket.arnForObjects(keysUnder(trainingKeys('*').championInputPrefix));
  prepare.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'WriteChampionInput',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [championInput],
    }),
  );
  // The bucket encrypts with the data key: a write needs a data key through S3 (npm run iam-check found it missing).
  prepare.grantKeyVia(key, 's3', ['kms:Decrypt', 'kms:GenerateDataKey']);
  const models = Stack.of(prepare).formatArn({
    service: 'sagemaker',
    resource: 'model',
    resourceName: `${evaluationNamePrefix(props.config)}-ev-*`,
  });
  prepare.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ManageEvaluationModels',
      actions: ['sagemaker:DescribeModel', 'sagemaker:CreateModel', 'sagemaker:AddTags'],
      resources: [models],
    }),
  );
  prepare.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PassEvaluationModelRole',
      actions: ['iam:PassRole'],
      resources: [props.modelRole.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
  );
  acknowledgeWildcards(
    prepare.role ?? prepare,
    `${reason} Evaluation Models are named per run.`,
    championInput,
    models,
  );
  evaluate.grantObjects(bucket, TRAINING_PREFIX, 'read', { key, reason });
  evaluate.grantListPrefix(bucket, TRAINING_PREFIX);
}

/**
 * The model role also runs the evaluation transforms: it writes `training/<runId>/evaluation/`, and transform jobs
 * log and emit metrics under their own names.
 */
export function grantEvaluationTransforms(role: iam.Role, bucket: s3.IBucket): void {
  const stack = Stack.of(role);
  const objects = bucket.arnForObjects(EVALUATION_FOLDERS);
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WriteEvaluationScores',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [objects],
    }),
  );
  const logs = stack.formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: '/aws/sagemaker/TransformJobs:*',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TransformJobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [logs],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TransformJobMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/TransformJobs'] } },
    }),
  );
  acknowledgeWildcards(
    role,
    'Evaluation transforms write the scores of training/<runId>/evaluation/ (run ids known only at run time); their ' +
      'log streams are named by job.',
    objects,
    logs,
  );
  // (cloudwatch:PutMetricData on * is acknowledged with the role's training statements: no resource-level permissions)
}
