/**
 * Deterministic local physical names: what a resource is called in moto_server when its template leaves the name to
 * CloudFormation, so every synth of the same app gives the same names and ARNs.
 */

/** Account id moto_server uses by default; local ARNs use it so they match what the emulator returns. */
export const LOCAL_ACCOUNT = '123456789012';

/** The property that names a resource of each type (when the template sets it, that name is used). */
export const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SageMaker::ModelPackageGroup': 'ModelPackageGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Events::Rule': 'Name',
  'AWS::Events::EventBus': 'Name',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::ElastiCache::ReplicationGroup': 'ReplicationGroupId',
  'AWS::SageMaker::Model': 'ModelName',
};

/** FNV-1a of `s`, 8 hex digits: a short, stable suffix. */
export function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Deterministic local physical name: `<stack>-<logicalId>`, lowercased, [a-z0-9-], at most 63 chars. */
export function localPhysicalName(stackName: string, logicalId: string): string {
  const raw = `${stackName}-${logicalId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  if (raw.length <= 63) return raw;
  return `${raw.slice(0, 54).replace(/-$/, '')}-${shortHash(raw)}`;
}
