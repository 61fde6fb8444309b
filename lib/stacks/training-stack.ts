import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { TrainingWorkflow } from '../constructs/training-workflow';

/** Properties of {@link TrainingStack}. */
export interface TrainingStackProps extends StackProps {
  readonly config: AppConfig;
  /** The `Pipeline` table (data stack). */
  readonly table: dynamodb.ITable;
  /** Feature store bucket name (a name, not a reference: readable IAM resources, no cross-stack export). */
  readonly featuresBucketName: string;
  /** Artifacts bucket name. */
  readonly artifactsBucketName: string;
  /** The data stack's key. */
  readonly encryptionKey: kms.IKey;
  /** Model Package Group name (data stack). */
  readonly modelPackageGroupName: string;
  /** VPC of the training job (network stack). */
  readonly vpc: ec2.IVpc;
  /** Security groups of the training job (network stack's functions group: HTTPS to the endpoints only). */
  readonly trainingSecurityGroups: readonly ec2.ISecurityGroup[];
  /**
   * Topic for failure alerts of the Training runs.
   * @default - a new KMS-encrypted topic in this stack
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * Code version recorded on runs and model packages (`CODE_VERSION`).
   * @default - `resolveCodeVersion()` (lib/code-version.ts)
   */
  readonly codeVersion?: string;
}

/**
 * Training: the Training state machine, the approver topic, the approval-event rule and handler.
 * The Model Package Group itself is state and lives in the data stack.
 */
export class TrainingStack extends Stack {
  public readonly workflow: TrainingWorkflow;
  public readonly alertTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.alertTopic =
      props.alertTopic ??
      new sns.Topic(this, 'AlertTopic', {
        displayName: `${config.namePrefix} ${config.envName} training runs`,
        masterKey: props.encryptionKey,
        enforceSSL: true,
      });
    this.workflow = new TrainingWorkflow(this, 'Training', {
      config,
      table: props.table,
      featuresBucket: s3.Bucket.fromBucketName(this, 'FeaturesBucket', props.featuresBucketName),
      artifactsBucket: s3.Bucket.fromBucketName(this, 'ArtifactsBucket', props.artifactsBucketName),
      encryptionKey: props.encryptionKey,
      modelPackageGroupName: props.modelPackageGroupName,
      vpc: props.vpc,
      trainingSecurityGroups: props.trainingSecurityGroups,
      alertTopic: this.alertTopic,
      codeVersion: props.codeVersion,
    });
    const email = config.monitoring.alarmEmail;
    if (email) {
      this.workflow.approverTopic.addSubscription(new subscriptions.EmailSubscription(email));
      if (!props.alertTopic && this.alertTopic instanceof sns.Topic) {
        this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
      }
    }

    const out = (oid: string, value: string, description: string) =>
      new CfnOutput(this, oid, { value, description, exportName: `${this.stackName}-${oid}` });
    out(
      'TrainingStateMachineArn',
      this.workflow.stateMachine.stateMachineArn,
      'Training state machine (mlops-batch train)',
    );
    out('ApproverTopicArn', this.workflow.approverTopic.topicArn, 'Approval requests (APPROVER_TOPIC_ARN)');
    out('TrainingAlertTopicArn', this.alertTopic.topicArn, 'Training failure alerts');
    out('TrainingJobRoleArn', this.workflow.trainingRole.roleArn, 'Role of the SageMaker training jobs');
    out(
      'ApprovalEventsDeadLetterQueueUrl',
      this.workflow.approvalDeadLetterQueue.queueUrl,
      'Approval events not handled',
    );
    out('RecordFailureFunctionArn', this.workflow.recordFailureFunction.functionArn, 'RecordFailure (both workflows)');
  }
}
