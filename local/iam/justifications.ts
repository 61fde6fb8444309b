/**
 * Why each granted action that no recorded call exercised is still granted: one line each, read by
 * `npm run iam-check` and test/iam/proof.test.ts. A grant that is neither exercised nor justified here fails the
 * check: remove it from the construct, or add a line saying why AWS needs it.
 *
 * `role` is the role's construct path without the stack (as the check prints it) or `*`; `action` may use `*`;
 * `resource` is the normalized pattern the check prints (`{LogicalId}` for physical names) or omitted for any.
 */

export interface Justification {
  readonly role: string;
  readonly action: string;
  readonly resource?: string;
  readonly why: string;
}

const KEY = 'arn:aws:kms:{region}:{account}:key/{DataKey}';
const TABLE = 'arn:aws:dynamodb:{region}:{account}:table/{PipelineTable}';
const ARTIFACTS = 'arn:aws:s3:::{ArtifactsBucket}';

export const JUSTIFICATIONS: readonly Justification[] = [
  // --- what AWS services do with the role, outside our code ---------------------------------------------------------
  {
    role: '*',
    action: 'logs:CreateLogStream',
    why: 'the Lambda service writes the function log group with the execution role',
  },
  {
    role: '*',
    action: 'logs:PutLogEvents',
    why: 'the Lambda service writes the function log group with the execution role',
  },
  {
    role: '*',
    action: 'xray:PutTraceSegments',
    why: 'active tracing: the Lambda and Step Functions services send segments (tracing is off locally)',
  },
  {
    role: '*',
    action: 'xray:PutTelemetryRecords',
    why: 'active tracing: the Lambda and Step Functions services send telemetry (off locally)',
  },
  {
    role: '*',
    action: 'xray:GetSampling*',
    why: 'Step Functions X-Ray tracing reads the sampling rules with the state machine role',
  },
  {
    role: '*',
    action: 'logs:*Deliver*',
    resource: '*',
    why: 'Step Functions execution logging sets up its log delivery with the state machine role',
  },
  {
    role: '*',
    action: 'logs:DescribeLogGroups',
    resource: '*',
    why: 'Step Functions execution logging (log delivery set-up)',
  },
  {
    role: '*',
    action: 'logs:DescribeResourcePolicies',
    resource: '*',
    why: 'Step Functions execution logging (log delivery set-up)',
  },
  {
    role: '*',
    action: 'logs:PutResourcePolicy',
    resource: '*',
    why: 'Step Functions execution logging (log delivery set-up)',
  },
  {
    role: '*',
    action: 'ec2:*',
    resource: '*',
    why: 'functions in the VPC: the Lambda service manages their network interfaces with the execution role',
  },
  {
    role: '*',
    action: 'lambda:InvokeFunction',
    resource: 'arn:aws:lambda:{region}:{account}:function:*:*',
    why: "CDK's LambdaInvoke also grants the function's versions and aliases; the definitions invoke the unqualified ARN",
  },
  {
    role: 'Training/ApprovalEventFunctionRole',
    action: 'sqs:*',
    why: "the function's asynchronous-invocation dead-letter queue: the Lambda service sends failed events with the execution role",
  },
  // --- KMS on the table key: DynamoDB's own calls ---------------------------------------------------------------------
  {
    role: '*',
    action: 'kms:Encrypt',
    resource: KEY,
    why: 'part of CDK table.grant*Data for a customer managed key; the proof models what DynamoDB asks of the caller as kms:Decrypt',
  },
  {
    role: '*',
    action: 'kms:DescribeKey',
    resource: KEY,
    why: 'part of CDK table.grant*Data for a customer managed key (DynamoDB checks the key)',
  },
  {
    role: '*',
    action: 'kms:GenerateDataKey',
    resource: KEY,
    why: 'part of CDK table.grant*Data / bucket grants; DynamoDB and S3 with a bucket key call it once per key period, not per request',
  },
  // --- paths the proof run does not take -----------------------------------------------------------------------------
  {
    role: '*',
    action: 'secretsmanager:GetSecretValue',
    resource: 'arn:aws:secretsmanager:{region}:{account}:secret:{CacheAuthToken}',
    why: 'the ElastiCache AUTH token (lambdas/platform/redis.ts); the local redis-server runs without AUTH, so it is never read locally',
  },
  {
    role: '*',
    action: 'kms:Decrypt',
    resource: KEY,
    why: 'decrypting what the role reads on paths the proof run does not take (the cache token, an encrypted alert on failure)',
  },
  {
    role: '*',
    action: 's3:AbortMultipartUpload',
    why: 'lambdas/platform/s3.ts aborts a failed multipart upload of a large output',
  },
  {
    role: '*',
    action: 'dynamodb:GetItem',
    resource: TABLE,
    why: 'consistent reads of the run, lock, ledger or model record on retry and conflict paths (lambdas/domain/{tracking,lock,ledger,model-records}.ts)',
  },
  {
    role: '*',
    action: 'dynamodb:*',
    resource: `${TABLE}/index/*`,
    why: 'CDK table.grant*Data names the indexes for every data action; only Query uses them',
  },
  {
    role: 'Workflow/FindUnscoredFunctionRole',
    action: 'dynamodb:Query',
    resource: TABLE,
    why: 'granted with the indexes by CDK table.grant; find-unscored queries the ledger status index only',
  },
  {
    role: 'Training/RegisterModelFunctionRole',
    action: 'dynamodb:ConditionCheckItem',
    resource: TABLE,
    why: 'the model record transaction checks the run when a version is registered again (lambdas/domain/model-records.ts)',
  },
  {
    role: 'Training/ApprovalEventFunctionRole',
    action: 'dynamodb:*',
    resource: TABLE,
    why: 'approval history and rollback write the model records in a transaction (lambdas/domain/model-records.ts); the run approves once',
  },
  {
    role: 'ReconcileFunctionRole',
    action: 'dynamodb:*',
    resource: TABLE,
    why: 'reconcile removes ledger items whose object is gone and reads by key when a listing continues; the run deletes nothing',
  },
  {
    role: 'ReconcileFunctionRole',
    action: 's3:GetObject',
    why: 'HeadObject (authorized as s3:GetObject) confirms an object is gone before its ledger item is removed; nothing is missing here',
  },
  {
    role: '*',
    action: 'sagemaker:DescribeModelPackage',
    why: 'describes the Production package when there is one; the proof run evaluates and registers before any approval',
  },
  {
    role: 'Training/RegisterModelFunctionRole',
    action: 'sagemaker:CreateModelPackage',
    resource: 'arn:aws:sagemaker:{region}:{account}:model-package-group/{ModelPackageGroup}',
    why: 'kept with the version ARN: which of the two SageMaker evaluates for a new version of a group is not documented',
  },
  {
    role: 'Training/EvaluateModelFunctionRole',
    action: 's3:GetObject',
    resource: `${ARTIFACTS}/reports/*`,
    why: "reads the Production model's evaluation report to compare with it; there is none before the first approval",
  },
  {
    role: 'Workflow/FindUnscoredFunctionRole',
    action: 's3:PutObject',
    resource: `${ARTIFACTS}/batch/*`,
    why: 'a work list longer than INLINE_OBJECTS_MAX goes to batch/<runId>/objects.json (find-unscored/core.ts); the run has fewer objects',
  },
  {
    role: '*',
    action: 's3:GetObject',
    resource: `${ARTIFACTS}/batch/*`,
    why: 'reads batch/<runId>/objects.json when the work list was written there; the run keeps it in the state',
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 'kms:*',
    resource: KEY,
    why: 'CreateTransformJob with VolumeKmsKeyId/KmsKeyId: SageMaker checks and grants the key; not modeled (the docs do not say with whose credentials)',
  },
  {
    role: 'Training/StateMachine/Role',
    action: 'kms:*',
    resource: KEY,
    why: 'the evaluation transforms (CreateTransformJob with KmsKeyId): SageMaker checks and grants the key; not modeled',
  },
  // --- the LoadScores Distributed Map: Step Functions acts with the state machine role; the local runtime emulates
  // the map in-process (local/runtime/distributed-map.ts), so these calls are not recorded as the role's ----------
  {
    role: 'Workflow/StateMachine/Role',
    action: 'states:StartExecution',
    why: 'the LoadScores and PrepareTasks Distributed Maps start one child execution per part / prepare task of this state machine; StartContinuation starts the next execution of this machine for a truncated backlog (the proof run has no backlog beyond batch.maxObjectsPerRun; test/faults/continuation.test.ts runs it)',
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 'states:DescribeExecution',
    why: 'the LoadScores and PrepareTasks Distributed Maps follow their child executions',
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 'states:StopExecution',
    why: 'the LoadScores and PrepareTasks Distributed Maps stop their child executions when the map run fails or is aborted',
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 'states:RedriveExecution',
    why: 'a redriven map run redrives its failed child executions',
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 's3:*',
    resource: `${ARTIFACTS}/batch/load-results/*`,
    why: "the ResultWriter writes the map run's manifest and result files (multipart for large ones)",
  },
  // --- the PrepareTrainingData Distributed Maps (ProfileTrainingData, EncodeTrainingData): as LoadScores above -----
  {
    role: 'Training/StateMachine/Role',
    action: 'states:StartExecution',
    why: 'the ProfileTrainingData and EncodeTrainingData Distributed Maps start one child execution per task of this state machine',
  },
  {
    role: 'Training/StateMachine/Role',
    action: 'states:DescribeExecution',
    why: 'the PrepareTrainingData Distributed Maps follow their child executions',
  },
  {
    role: 'Training/StateMachine/Role',
    action: 'states:StopExecution',
    why: 'the PrepareTrainingData Distributed Maps stop their child executions when the map run fails or is aborted',
  },
  {
    role: 'Training/StateMachine/Role',
    action: 'states:RedriveExecution',
    why: 'a redriven map run redrives its failed child executions',
  },
  {
    role: 'Training/StateMachine/Role',
    action: 's3:GetObject',
    resource: `${ARTIFACTS}/training/*/prepare/tasks.json`,
    why: "the Maps' ItemReader reads the tasks PlanTrainingData wrote; locally the emulation reads them with its own client",
  },
  {
    role: 'Training/StateMachine/Role',
    action: 's3:*',
    resource: `${ARTIFACTS}/training/prepare-results/*`,
    why: "the ResultWriter writes the map run's manifest and result files (multipart for large ones)",
  },
  {
    role: 'Workflow/StateMachine/Role',
    action: 's3:*',
    resource: `${ARTIFACTS}/batch/prepare-results/*`,
    why: "the PrepareTasks ResultWriter writes the map run's manifest and result files (multipart for large ones)",
  },
  {
    role: 'Workflow/PlanPrepareFunctionRole',
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::{FeaturesBucket}/inference/*',
    why: 'HeadObject (authorized as s3:GetObject) sizes an object whose ledger item has no size; the proof run records every size on arrival',
  },
  {
    role: 'Workflow/ResolveModelFunctionRole',
    action: 'dynamodb:PutItem',
    resource: TABLE,
    why: 'ResolveModel corrects the Production pointer when the registry is ahead of it (a missed approval event)',
  },
];
