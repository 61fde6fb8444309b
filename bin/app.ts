#!/usr/bin/env node
import { App, type AppProps, type Environment, type Stack, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type AppConfig, ConfigError, loadConfig } from '../lib/config';
import { ProjectFunction } from '../lib/constructs/project-function';
import { BatchInferenceStack } from '../lib/stacks/batch-inference-stack';
import { DataStack } from '../lib/stacks/data-stack';
import { type MonitoredFunction, MonitoringStack } from '../lib/stacks/monitoring-stack';
import { NetworkStack } from '../lib/stacks/network-stack';
import { ServingStack } from '../lib/stacks/serving-stack';
import { TrainingStack } from '../lib/stacks/training-stack';

/** The stacks of one environment, for wiring and for in-process synthesis (tests, local runtime). */
export interface PipelineApp {
  readonly app: App;
  readonly config: AppConfig;
  readonly data: DataStack;
  readonly network: NetworkStack;
  readonly serving: ServingStack;
  readonly training: TrainingStack;
  readonly batch: BatchInferenceStack;
  readonly monitoring: MonitoringStack;
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

/**
 * Build the CDK app: load and validate the configuration, create every stack, tag everything and attach cdk-nag
 * (AwsSolutions). Wiring only — behaviour lives in `lib/`.
 *
 * @param props App props; tests pass `context` (including `environments` from cdk.json) and `outdir`
 * @throws ConfigError when the configuration is invalid
 */
export function createApp(props: AppProps = {}): PipelineApp {
  const app = new App(props);
  const config = loadConfig(app.node);

  // Unset account/region → environment-agnostic stacks, so `cdk synth` works offline without credentials.
  const env: Environment | undefined =
    config.account || config.region ? { account: config.account, region: config.region } : undefined;
  const common = { env, config };
  const stackName = (suffix: string) => `${config.namePrefix}-${config.envName}-${suffix}`;

  const data = new DataStack(app, 'Data', {
    ...common,
    stackName: stackName('data'),
    description: 'mlops-batch-pipeline: stateful data (KMS key, buckets, Pipeline table, model registry)',
    terminationProtection: config.envName === 'prod',
  });
  const network = new NetworkStack(app, 'Network', {
    ...common,
    encryptionKey: data.key,
    stackName: stackName('network'),
    description: 'mlops-batch-pipeline: isolated VPC, endpoints, flow logs',
  });

  const serving = new ServingStack(app, 'Serving', {
    ...common,
    vpc: network.vpc,
    functionsSecurityGroup: network.functionsSecurityGroup,
    encryptionKey: data.key,
    artifactsBucketName: data.artifactsBucketName,
    stackName: stackName('serving'),
    description: 'mlops-batch-pipeline: score cache, loader/reader functions, read API, results table',
  });

  const training = new TrainingStack(app, 'Training', {
    ...common,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    vpc: network.vpc,
    trainingSecurityGroups: [network.functionsSecurityGroup],
    stackName: stackName('training'),
    description: 'mlops-batch-pipeline: Training state machine, approver topic, approval events',
  });
  training.addStackDependency(data, 'registers packages in the model package group of the data stack');

  // Bucket names travel as strings (no reference), so state the deploy order explicitly.
  serving.addStackDependency(data, 'reads results/ of the artifacts bucket');

  const batch = new BatchInferenceStack(app, 'BatchInference', {
    ...common,
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    loaderFunction: serving.loaderFunction,
    finalizeFunction: serving.finalizeFunction,
    stackName: stackName('batch'),
    description: 'mlops-batch-pipeline: BatchInference state machine, schedule, arrival ledger, reconcile',
  });
  batch.addStackDependency(data, "reads features and writes batch/, results/ of the data stack's buckets");

  const monitoring = new MonitoringStack(app, 'Monitoring', {
    ...common,
    trainingStateMachine: training.workflow.stateMachine,
    batchStateMachine: batch.workflow.stateMachine,
    functions: projectFunctions([serving, training, batch]),
    cacheReplicationGroupId: serving.cache.ref,
    api: serving.api,
    stackName: stackName('monitoring'),
    description: 'mlops-batch-pipeline: dashboard, alarms, ops topic',
  });

  for (const stack of [data, network, serving, training, batch, monitoring]) {
    // Dashboards are left untagged: cfn-lint's CloudFormation schema (1.51) has no Tags on AWS::CloudWatch::Dashboard,
    // and a dashboard's tags have no operational use (no cost, no access control).
    const tagProps = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
    Tags.of(stack).add('project', 'mlops-batch-pipeline', tagProps);
    Tags.of(stack).add('environment', config.envName, tagProps);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  return { app, config, data, network, serving, training, batch, monitoring };
}

if (require.main === module) {
  try {
    createApp().app.synth();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
