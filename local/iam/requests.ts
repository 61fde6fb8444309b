/**
 * What IAM evaluates for one SDK call: the action(s), the resource ARN(s) the request targets and the condition keys
 * taken from its input, following the Service Authorization Reference ("Actions, resources, and condition keys for
 * <service>", whose "API operations" table maps each operation to the actions it authorizes).
 *
 * Most operations authorize the action of the same name; the exceptions that this project's code reaches are spelled
 * out below. An operation without a rule here whose action has resource types fails with an error naming it, so a
 * new SDK call explains itself instead of being simulated on a guessed resource.
 */

/** One authorization request: what the simulator is asked. */
export interface AuthRequest {
  /** `s3:GetObject` */
  readonly action: string;
  /** Resource ARN, or `*` for actions without resource types. */
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * What the service does with customer data for this request, when the target is encrypted with a customer managed
   * KMS key: the KMS calls it makes with the caller's permissions (local/iam/model.ts adds them).
   */
  readonly data?: 'read' | 'write' | 'readwrite';
  /** The KMS key the request names itself (S3 `SSEKMSKeyId`), instead of the target's default key. */
  readonly kmsKey?: string;
}

export interface Where {
  readonly region: string;
  readonly account: string;
}

type Input = Record<string, unknown>;
type Rule = (input: Input, where: Where) => AuthRequest[];

/** SDK service id → IAM service prefix. */
export const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  S3: 's3',
  DynamoDB: 'dynamodb',
  SageMaker: 'sagemaker',
  SFN: 'states',
  SNS: 'sns',
  SQS: 'sqs',
  'Secrets Manager': 'secretsmanager',
  CloudWatch: 'cloudwatch',
  'CloudWatch Logs': 'logs',
  CloudFormation: 'cloudformation',
  Lambda: 'lambda',
  KMS: 'kms',
  EventBridge: 'events',
  STS: 'sts',
};

const str = (input: Input, key: string, op: string): string => {
  const v = input[key];
  if (typeof v !== 'string' || v === '') throw new Error(`${op}: no ${key} in the request`);
  return v;
};
const arnOf = (service: string, w: Where, resource: string) =>
  `arn:aws:${service}:${w.region}:${w.account}:${resource}`;

// ------------------------------------------------------------------------------------------------------------- S3

const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;
const obj = (i: Input, op: string) => objectArn(str(i, 'Bucket', op), str(i, 'Key', op));

/** `CopySource` is `bucket/key` (URL-encoded, optionally `?versionId=`). */
function copySourceArn(source: string): string {
  const [pathPart] = decodeURIComponent(source.replace(/^\//, '')).split('?');
  return `arn:aws:s3:::${pathPart}`;
}

const sseKey = (i: Input): { kmsKey?: string } => (typeof i.SSEKMSKeyId === 'string' ? { kmsKey: i.SSEKMSKeyId } : {});

function listBucketContext(i: Input): Record<string, string> {
  const ctx: Record<string, string> = {};
  if (typeof i.Prefix === 'string') ctx['s3:prefix'] = i.Prefix;
  if (typeof i.Delimiter === 'string') ctx['s3:delimiter'] = i.Delimiter;
  if (typeof i.MaxKeys === 'number') ctx['s3:max-keys'] = String(i.MaxKeys);
  return ctx;
}

const S3: Record<string, Rule> = {
  ListObjectsV2: (i) => [
    { action: 's3:ListBucket', resource: bucketArn(str(i, 'Bucket', 'ListObjectsV2')), context: listBucketContext(i) },
  ],
  ListObjects: (i) => [
    { action: 's3:ListBucket', resource: bucketArn(str(i, 'Bucket', 'ListObjects')), context: listBucketContext(i) },
  ],
  HeadBucket: (i) => [{ action: 's3:ListBucket', resource: bucketArn(str(i, 'Bucket', 'HeadBucket')) }],
  GetObject: (i) => [
    {
      action: i.VersionId ? 's3:GetObjectVersion' : 's3:GetObject',
      resource: obj(i, 'GetObject'),
      data: 'read',
    },
  ],
  // HEAD returns metadata only: S3 decrypts nothing, so no KMS call.
  HeadObject: (i) => [{ action: i.VersionId ? 's3:GetObjectVersion' : 's3:GetObject', resource: obj(i, 'HeadObject') }],
  PutObject: (i) => [
    { action: 's3:PutObject', resource: obj(i, 'PutObject'), data: 'write', ...sseKey(i) },
    ...(i.Tagging ? [{ action: 's3:PutObjectTagging', resource: obj(i, 'PutObject') }] : []),
  ],
  CopyObject: (i) => [
    { action: 's3:PutObject', resource: obj(i, 'CopyObject'), data: 'write', ...sseKey(i) },
    { action: 's3:GetObject', resource: copySourceArn(str(i, 'CopySource', 'CopyObject')), data: 'read' },
  ],
  DeleteObject: (i) => [{ action: 's3:DeleteObject', resource: obj(i, 'DeleteObject') }],
  DeleteObjects: (i) => {
    const bucket = str(i, 'Bucket', 'DeleteObjects');
    const objects = ((i.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects ?? []).map((o) => o.Key);
    return objects.map((k) => ({ action: 's3:DeleteObject', resource: objectArn(bucket, String(k)) }));
  },
  // Multipart uploads to an SSE-KMS bucket generate the data key at creation and decrypt it for each part.
  CreateMultipartUpload: (i) => [
    { action: 's3:PutObject', resource: obj(i, 'CreateMultipartUpload'), data: 'write', ...sseKey(i) },
  ],
  UploadPart: (i) => [{ action: 's3:PutObject', resource: obj(i, 'UploadPart'), data: 'readwrite' }],
  CompleteMultipartUpload: (i) => [
    { action: 's3:PutObject', resource: obj(i, 'CompleteMultipartUpload'), data: 'readwrite' },
  ],
  AbortMultipartUpload: (i) => [{ action: 's3:AbortMultipartUpload', resource: obj(i, 'AbortMultipartUpload') }],
  ListParts: (i) => [{ action: 's3:ListMultipartUploadParts', resource: obj(i, 'ListParts') }],
};

// ------------------------------------------------------------------------------------------------------- DynamoDB

const tableArn = (t: string, w: Where) => (t.startsWith('arn:') ? t : arnOf('dynamodb', w, `table/${t}`));

function tableOp(action: string): Rule {
  return (i, w) => {
    const table = tableArn(str(i, 'TableName', action), w);
    const index = typeof i.IndexName === 'string' ? `${table}/index/${i.IndexName}` : table;
    return [{ action: `dynamodb:${action}`, resource: index, data: 'read' }];
  };
}

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** TransactWrite/GetItems authorize each item's own action on its table. */
const transact: Rule = (i, w) =>
  ((i.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? []).flatMap((item) =>
    Object.entries(item).map(([kind, body]) => {
      const action = TRANSACT_ACTIONS[kind];
      if (!action) throw new Error(`TransactItems: unknown item kind ${kind}`);
      return { action: `dynamodb:${action}`, resource: tableArn(String(body.TableName), w), data: 'read' as const };
    }),
  );

const batch =
  (action: string): Rule =>
  (i, w) =>
    Object.keys((i.RequestItems as Record<string, unknown> | undefined) ?? {}).map((t) => ({
      action: `dynamodb:${action}`,
      resource: tableArn(t, w),
      data: 'read' as const,
    }));

const DYNAMODB: Record<string, Rule> = {
  ...Object.fromEntries(
    ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'DescribeTable'].map((op) => [op, tableOp(op)]),
  ),
  BatchGetItem: batch('BatchGetItem'),
  BatchWriteItem: batch('BatchWriteItem'),
  TransactWriteItems: transact,
  TransactGetItems: transact,
};

// ------------------------------------------------------------------------------------------------------ SageMaker

/** SageMaker ARNs carry resource names in lower case. */
const sm = (w: Where, type: string, name: string) =>
  name.startsWith('arn:') ? name : arnOf('sagemaker', w, `${type}/${name.toLowerCase()}`);

const passRole = (roleArn: string, service: string): AuthRequest => ({
  action: 'iam:PassRole',
  resource: roleArn,
  context: { 'iam:PassedToService': `${service}.amazonaws.com` },
});

const withTags = (i: Input, resource: string): AuthRequest[] =>
  Array.isArray(i.Tags) && i.Tags.length > 0 ? [{ action: 'sagemaker:AddTags', resource }] : [];

function smCreate(action: string, type: string, nameKey: string, roleKey?: string): Rule {
  return (i, w) => {
    const resource = sm(w, type, str(i, nameKey, action));
    return [
      { action: `sagemaker:${action}`, resource },
      ...(roleKey && typeof i[roleKey] === 'string' ? [passRole(i[roleKey] as string, 'sagemaker')] : []),
      ...withTags(i, resource),
    ];
  };
}

const smNamed =
  (action: string, type: string, nameKey: string): Rule =>
  (i, w) => [{ action: `sagemaker:${action}`, resource: sm(w, type, str(i, nameKey, action)) }];

const SAGEMAKER: Record<string, Rule> = {
  CreateModel: smCreate('CreateModel', 'model', 'ModelName', 'ExecutionRoleArn'),
  DescribeModel: smNamed('DescribeModel', 'model', 'ModelName'),
  DeleteModel: smNamed('DeleteModel', 'model', 'ModelName'),
  CreateTrainingJob: smCreate('CreateTrainingJob', 'training-job', 'TrainingJobName', 'RoleArn'),
  DescribeTrainingJob: smNamed('DescribeTrainingJob', 'training-job', 'TrainingJobName'),
  StopTrainingJob: smNamed('StopTrainingJob', 'training-job', 'TrainingJobName'),
  CreateTransformJob: smCreate('CreateTransformJob', 'transform-job', 'TransformJobName'),
  DescribeTransformJob: smNamed('DescribeTransformJob', 'transform-job', 'TransformJobName'),
  StopTransformJob: smNamed('StopTransformJob', 'transform-job', 'TransformJobName'),
  DescribeModelPackage: smNamed('DescribeModelPackage', 'model-package', 'ModelPackageName'),
  UpdateModelPackage: smNamed('UpdateModelPackage', 'model-package', 'ModelPackageArn'),
  DescribeModelPackageGroup: smNamed('DescribeModelPackageGroup', 'model-package-group', 'ModelPackageGroupName'),
  // A new version of a group: its ARN is `model-package/<group>/<version>`, the version not known before the call.
  CreateModelPackage: (i, w) => {
    const group = str(i, 'ModelPackageGroupName', 'CreateModelPackage');
    const groupName = group.startsWith('arn:') ? (group.split('/').pop() ?? group) : group;
    const resource = arnOf('sagemaker', w, `model-package/${groupName.toLowerCase()}/new-version`);
    return [{ action: 'sagemaker:CreateModelPackage', resource }, ...withTags(i, resource)];
  },
  AddTags: (i) => [{ action: 'sagemaker:AddTags', resource: str(i, 'ResourceArn', 'AddTags') }],
  ListTags: (i) => [{ action: 'sagemaker:ListTags', resource: str(i, 'ResourceArn', 'ListTags') }],
};

// ------------------------------------------------------------------------------------------------- other services

const SNS: Record<string, Rule> = {
  Publish: (i) => [
    // Publishing to an encrypted topic needs kms:GenerateDataKey and kms:Decrypt (SNS developer guide, SSE).
    { action: 'sns:Publish', resource: String(i.TopicArn ?? i.TargetArn ?? '*'), data: 'readwrite' },
  ],
  PublishBatch: (i) => [{ action: 'sns:Publish', resource: str(i, 'TopicArn', 'PublishBatch'), data: 'readwrite' }],
};

const SFN: Record<string, Rule> = {
  StartExecution: (i) => [{ action: 'states:StartExecution', resource: str(i, 'stateMachineArn', 'StartExecution') }],
  DescribeStateMachine: (i) => [
    { action: 'states:DescribeStateMachine', resource: str(i, 'stateMachineArn', 'DescribeStateMachine') },
  ],
  ListExecutions: (i) => [{ action: 'states:ListExecutions', resource: str(i, 'stateMachineArn', 'ListExecutions') }],
  DescribeExecution: (i) => [
    { action: 'states:DescribeExecution', resource: str(i, 'executionArn', 'DescribeExecution') },
  ],
  StopExecution: (i) => [{ action: 'states:StopExecution', resource: str(i, 'executionArn', 'StopExecution') }],
  GetExecutionHistory: (i) => [
    { action: 'states:GetExecutionHistory', resource: str(i, 'executionArn', 'GetExecutionHistory') },
  ],
};

const SECRETS: Record<string, Rule> = {
  GetSecretValue: (i, w) => {
    const id = str(i, 'SecretId', 'GetSecretValue');
    return [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: id.startsWith('arn:') ? id : arnOf('secretsmanager', w, `secret:${id}`),
        data: 'read',
      },
    ];
  },
};

const CLOUDWATCH: Record<string, Rule> = {
  PutMetricData: (i) => [
    { action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': String(i.Namespace) } },
  ],
};

const queueArn = (url: string, w: Where) => {
  const parts = url.split('/');
  return arnOf('sqs', w, parts[parts.length - 1] ?? url);
};

const SQS: Record<string, Rule> = {
  SendMessage: (i, w) => [
    { action: 'sqs:SendMessage', resource: queueArn(str(i, 'QueueUrl', 'SendMessage'), w), data: 'readwrite' },
  ],
};

const LAMBDA: Record<string, Rule> = {
  Invoke: (i, w) => {
    const fn = str(i, 'FunctionName', 'Invoke');
    return [
      { action: 'lambda:InvokeFunction', resource: fn.startsWith('arn:') ? fn : arnOf('lambda', w, `function:${fn}`) },
    ];
  },
};

const RULES: Readonly<Record<string, Record<string, Rule>>> = {
  S3,
  DynamoDB: DYNAMODB,
  SageMaker: SAGEMAKER,
  SNS,
  SFN,
  'Secrets Manager': SECRETS,
  CloudWatch: CLOUDWATCH,
  SQS,
  Lambda: LAMBDA,
};

/** Operations whose action takes no resource (Service Authorization Reference: no resource types) need no rule. */
const NO_RESOURCE = /^(List|Search|GetAuthorizationToken$)/;

/**
 * The authorization requests of one SDK call.
 * @throws Error naming the service and operation when no rule derives them
 */
export function deriveRequests(service: string, operation: string, input: unknown, where: Where): AuthRequest[] {
  const i = (input && typeof input === 'object' ? input : {}) as Input;
  const rule = RULES[service]?.[operation];
  if (rule) return rule(i, where);
  const prefix = SERVICE_PREFIX[service];
  if (prefix && NO_RESOURCE.test(operation)) return [{ action: `${prefix}:${operation}`, resource: '*' }];
  throw new Error(
    `no IAM rule for ${service} ${operation}: add one to local/iam/requests.ts (action, resource ARN from the input, condition keys) following the Service Authorization Reference`,
  );
}
