import { App } from 'aws-cdk-lib';
import { loadConfig } from '../../lib/config';
import { DataStack } from '../../lib/stacks/data-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { TrainingStack } from '../../lib/stacks/training-stack';

/**
 * The stacks the Training workflow needs (data, network, training), wired as bin/app.ts wires them; built here so
 * this test does not depend on the other stacks of the app. Strong references: the local resolver reads
 * Fn::ImportValue (weak Fn::GetStackOutput references are not resolved).
 */
export function buildTrainingApp(context: Record<string, unknown>): App {
  const app = new App({ context });
  const config = loadConfig(app.node);
  const data = new DataStack(app, 'Data', { config, stackName: 'mlops-batch-dev-data' });
  const network = new NetworkStack(app, 'Network', {
    config,
    encryptionKey: data.key,
    stackName: 'mlops-batch-dev-network',
  });
  new TrainingStack(app, 'Training', {
    config,
    stackName: 'mlops-batch-dev-training',
    table: data.table,
    featuresBucketName: data.featuresBucketName,
    artifactsBucketName: data.artifactsBucketName,
    encryptionKey: data.key,
    modelPackageGroupName: data.modelPackageGroupName,
    vpc: network.vpc,
    trainingSecurityGroups: [network.functionsSecurityGroup],
    codeVersion: 'test-sha',
  });
  return app;
}
