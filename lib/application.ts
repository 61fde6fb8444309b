import * as path from 'node:path';
import { ArnFormat, CfnOutput, type Environment, type Stack, Tags } from 'aws-cdk-lib';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { resolveCodeVersion } from './code-version';
import type { AppConfig } from './config';
import { ProjectFunction, REPO_ROOT } from './constructs/project-function';
import { directlyGrantedServices, type VpcWorkload } from './constructs/sdk-services';
import { BatchInferenceStack } from './stacks/batch-inference-stack';
import { DataStack } from './stacks/data-stack';
import { type MonitoredFunction, MonitoringStack } from './stacks/monitoring-stack';
import { NetworkStack } from './stacks/network-stack';
import { ServingStack } from './stacks/serving-stack';
import { TrainingStack } from './stacks/training-stack';

/** The application stacks of one environment (everything except the pipeline). */
export interface ApplicationStacks {
  readonly data: DataStack;
  readonly network: NetworkStack;
  readonly serving: ServingStack;
  readonly training: TrainingStack;
  readonly batch: BatchInferenceStack;
  readonly monitoring: MonitoringStack;
  /** Every stack above, in creation order. */
  readonly all: readonly Stack[];
}

/** Every {@link ProjectFunction} in the given stacks, named `<stack id>-<construct id>` for alarms. */
export function projectFunctions(stacks: readonly Stack[]): MonitoredFunction[] {
  return stacks.flatMap((stack) =>
    stack.node
      .findAll()
      .filter((c): c is ProjectFunction => c instanceof ProjectFunction)
      .map((fn) => ({ name: `${stack.node.id}-${fn.node.id}`, fn })),
  );
}

/** The project functions in the given stacks that run in a VPC: handler module and directly granted services. */
export function inVpcWorkloads(stacks: readonly Stack[]): VpcWorkload[] {
  return stacks
    .flatMap((stack) => stack.node.findAll())
    .filter((c): c is ProjectFunction => c instanceof ProjectFunction && c.isBoundToVpc)
    .map((fn) => ({
      entry: path.resolve(REPO_ROOT, fn.entryPath),
      grantedServices: fn.role ? directlyGrantedServices(fn.role) : new Set<string>(),
    }));
}

/**
 * Builds the application stacks of one environment into `scope` (an App or a pipeline Stage).
 * `bin/app.ts` and {@link PipelineStage} both use one factory so a direct deploy and a pipeline deploy are the same.
 */
export type ApplicationFactory = (scope: Construct, config: AppConfig, env?: Environment) => ApplicationStacks;

/**
 * Create every application stack of one environment, wired together, tagged `project` / `environment`.
 *
 * Stack names are physical (`<namePrefix>-<envName>-<suffix>`), so the same environment deployed directly
 * (`cdk deploy`) and through the pipeline's stage is the same set of CloudFormation stacks.
 *
 * @param scope App (direct deploy) or Stage (pipeline)
 * @param config validated settings of the environment
 * @param env account/region of the stacks; @default - environment-agnostic (inside a Stage: the Stage's env)
 */
export function createApplicationStacks(scope: Construct, config: AppConfig, env?: Environment): ApplicationStacks {
  const common = { env, config };
  // Resolved once, so both workflows record the same version on their runs.
  const codeVersion = resolveCodeVersion();
  const stackName = (suffix: string) => `${config.namePrefix}-${config.envName}-${suffix}`;

  const data = new DataStack(scope, 'Data', {
    ...common,
    stackName: stackName('data'),
    description: 'mlops-batch-pipeline: stateful data (KMS key, buckets, Pipeline table, model registry)',
    terminationProtection: config.envName === 'prod',
  });
  const network = new NetworkStack(scope, 'Network', {
    ...common,
    encryptionKey: data.key,
    stackName: stackName('network'),
    description: 'mlops-batch-pipeline: isolated VPC, endpoints, flow logs',
  });

  const serving = new ServingStack(scope, 'Serving', {
    ...common,
    vpc: network.vpc,
    functionsSecurityGroup: network.functionsSecurityGroup,
    encryptionKey: data.key,
    artifactsBucketName: data.artifactsBucketName,
    table: data.table,
    stackName: stackName('serving'),
    description: 'mlops-batch-pipeline: score cache, loader/reader functions, read API, results table',
  });

  const training = new TrainingStack(scope, 'Training', {
    ...common,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    vpc: network.vpc,
    trainingSecurityGroups: [network.functionsSecurityGroup],
    codeVersion,
    stackName: stackName('training'),
    description: 'mlops-batch-pipeline: Training state machine, approver topic, approval events',
  });
  training.addStackDependency(data, 'registers packages in the model package group of the data stack');

  // Bucket names travel as strings (no reference), so state the deploy order explicitly.
  serving.addStackDependency(data, 'reads results/ of the artifacts bucket');

  const batch = new BatchInferenceStack(scope, 'BatchInference', {
    ...common,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    loaderFunction: serving.loaderFunction,
    finalizeFunction: serving.finalizeFunction,
    codeVersion,
    stackName: stackName('batch'),
    description: 'mlops-batch-pipeline: BatchInference state machine, schedule, arrival ledger, reconcile',
  });
  batch.addStackDependency(data, "reads features and writes batch/, results/ of the data stack's buckets");

  const monitoring = new MonitoringStack(scope, 'Monitoring', {
    ...common,
    trainingStateMachine: training.workflow.stateMachine,
    batchStateMachine: batch.workflow.stateMachine,
    functions: projectFunctions([serving, training, batch]),
    cacheReplicationGroupId: serving.cache.ref,
    api: serving.api,
    stackName: stackName('monitoring'),
    description: 'mlops-batch-pipeline: dashboard, alarms, ops topic',
  });

  // Interface endpoints follow the code that runs in the VPC: the functions placed there (their handlers' AWS SDK
  // imports). The training job also runs in the VPC, but with network isolation: SageMaker moves its data through the
  // S3 gateway endpoint and writes its logs and metrics itself, so it needs no interface endpoint.
  network.addInterfaceEndpointsFor(inVpcWorkloads([serving, training, batch]));

  const all = [data, network, serving, training, batch, monitoring];
  for (const stack of all) {
    // Dashboards are left untagged: cfn-lint's CloudFormation schema (1.51) has no Tags on AWS::CloudWatch::Dashboard,
    // and a dashboard's tags have no operational use (no cost, no access control).
    const tagProps = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
    Tags.of(stack).add('project', 'mlops-batch-pipeline', tagProps);
    Tags.of(stack).add('environment', config.envName, tagProps);
  }
  return { data, network, serving, training, batch, monitoring, all };
}

/** The Training state machine of an application, as the pipeline's post-deploy step needs it. */
export interface TrainingStateMachineRef {
  /** Stack output holding the state machine ARN (read by the post-deploy step via `envFromCfnOutputs`). */
  readonly arnOutput: CfnOutput;
  /** Physical name (a literal, so a stack outside the stage can build the ARN for an IAM policy). */
  readonly name: string;
  /** `states` ARN of the state machine, in the training stack's account/region. */
  readonly arn: string;
}

/**
 * The Training state machine's output and physical name.
 *
 * @throws Error when the training stack lacks the `TrainingStateMachineArn` output or the state machine has no
 *   literal name (the pipeline must scope its IAM policy to it without a cross-stage reference)
 */
export function trainingStateMachineRef(training: TrainingStack): TrainingStateMachineRef {
  const arnOutput = training.node.tryFindChild('TrainingStateMachineArn');
  if (!(arnOutput instanceof CfnOutput)) {
    throw new Error(
      `${training.node.path}: no CfnOutput "TrainingStateMachineArn" (the pipeline's post-deploy step reads it)`,
    );
  }
  const cfn = training.workflow.stateMachine.node.defaultChild as CfnStateMachine;
  const name = training.resolve(cfn.stateMachineName);
  if (typeof name !== 'string' || name.length === 0) {
    throw new Error(
      `${cfn.node.path}: the Training state machine needs a literal stateMachineName, got ${JSON.stringify(name)}`,
    );
  }
  const arn = training.formatArn({
    service: 'states',
    resource: 'stateMachine',
    resourceName: name,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return { arnOutput, name, arn };
}
