#!/usr/bin/env node
import { App, type AppProps, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type ApplicationStacks, createApplicationStacks } from '../lib/application';
import { type AppConfig, ConfigError, loadConfig } from '../lib/config';
import { checkFeatureContract } from '../lib/feature-contract';
import type { BatchInferenceStack } from '../lib/stacks/batch-inference-stack';
import type { DataStack } from '../lib/stacks/data-stack';
import type { MonitoringStack } from '../lib/stacks/monitoring-stack';
import type { NetworkStack } from '../lib/stacks/network-stack';
import { loadProdConfig, PipelineStack } from '../lib/stacks/pipeline-stack';
import type { ServingStack } from '../lib/stacks/serving-stack';
import type { TrainingStack } from '../lib/stacks/training-stack';

export { projectFunctions } from '../lib/application';

/**
 * The stacks of one environment, for wiring and for in-process synthesis (tests, local runtime). With the pipeline
 * enabled they are the stacks of the pipeline's Dev stage.
 */
export interface PipelineApp {
  readonly app: App;
  readonly config: AppConfig;
  readonly data: DataStack;
  readonly network: NetworkStack;
  readonly serving: ServingStack;
  readonly training: TrainingStack;
  readonly batch: BatchInferenceStack;
  readonly monitoring: MonitoringStack;
  /** The delivery pipeline; its Dev and Prod stages hold the application stacks. @default - none (no connection) */
  readonly pipeline?: PipelineStack;
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /**
   * Create the PipelineStack when `pipeline.connectionArn` is configured. `false` builds the application stacks of the
   * chosen environment only (the local runtime does this: it runs one environment).
   * @default true
   */
  readonly pipeline?: boolean;
  /** Receives the one-line notice that the pipeline is not configured. @default - the notice is dropped */
  readonly info?: (line: string) => void;
}

/** The one line `cdk synth` prints when no pipeline is configured. */
export function pipelineNotice(config: AppConfig): string {
  return (
    `Pipeline not configured: no ${config.namePrefix}-pipeline stack. To enable it set pipeline.connectionArn and ` +
    `pipeline.repository under context.environments.${config.envName} in cdk.json (commit it; see README "Deploy with ` +
    `the pipeline"), then run npx cdk deploy ${config.namePrefix}-pipeline.`
  );
}

/**
 * Build the CDK app: load and validate the configuration, create every stack, tag everything and attach cdk-nag
 * (AwsSolutions). Wiring only — behaviour lives in `lib/`.
 *
 * Without `pipeline.connectionArn` the app holds the application stacks of the chosen environment (direct
 * `cdk deploy`). With it, the app holds only the `<namePrefix>-pipeline` stack; its Dev and Prod stages hold the
 * application stacks (built by the same factory), so no stack exists twice in one synth.
 *
 * @param props App props; tests pass `context` (including `environments` from cdk.json) and `outdir`
 * @throws ConfigError when the configuration or the feature contract is invalid
 */
export function createApp(props: AppProps = {}, options: CreateAppOptions = {}): PipelineApp {
  const app = new App(props);
  const config = loadConfig(app.node);
  checkFeatureContract(config);

  // Unset account/region → environment-agnostic stacks, so `cdk synth` works offline without credentials.
  const env: Environment | undefined =
    config.account || config.region ? { account: config.account, region: config.region } : undefined;

  let stacks: ApplicationStacks;
  let pipeline: PipelineStack | undefined;
  if (options.pipeline !== false && config.pipeline.connectionArn) {
    const pipelineName = `${config.namePrefix}-pipeline`;
    const prodConfig = loadProdConfig(app.node, config);
    checkFeatureContract(prodConfig);
    pipeline = new PipelineStack(app, pipelineName, {
      env,
      config,
      prodConfig,
      stackName: pipelineName,
      description:
        'mlops-batch-pipeline: delivery pipeline (source, build and test, Dev, Training run, approval, Prod)',
    });
    Tags.of(pipeline).add('project', 'mlops-batch-pipeline', { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] });
    stacks = pipeline.devStage.stacks;
  } else {
    stacks = createApplicationStacks(app, config, env);
    if (options.pipeline !== false) options.info?.(pipelineNotice(config));
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

  const { data, network, serving, training, batch, monitoring } = stacks;
  return { app, config, data, network, serving, training, batch, monitoring, ...(pipeline ? { pipeline } : {}) };
}

/**
 * The app the local runtime synthesizes (`local/runtime/synth.ts`): the application stacks of the chosen environment,
 * never the pipeline (its Dev and Prod stages would hold every state machine twice).
 */
export function buildApp(context: Record<string, unknown>): App {
  return createApp({ context }, { pipeline: false }).app;
}

if (require.main === module) {
  try {
    createApp({}, { info: (line) => console.error(line) }).app.synth();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
