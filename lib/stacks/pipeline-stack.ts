import { ArnFormat, CfnOutput, type CfnResource, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as pipelines from 'aws-cdk-lib/pipelines';
import type { Construct } from 'constructs';
import { keysUnder, TRAINING_PREFIX } from '../../contracts/s3-layout';
import type { ApplicationFactory } from '../application';
import { type AppConfig, ConfigError, type ContextSource, loadConfig } from '../config';
import { allowCloudWatchLogs } from '../constructs/logs-key-policy';
import { acknowledge } from '../nag';
import { physicalNames } from '../physical-names';
import { PipelineStage } from '../pipeline-stage';
import { acknowledgeCrossRegionSupport, acknowledgeGenerated } from './pipeline-nag';

/** Minutes CodeBuild may run at most (service limit). */
const CODEBUILD_MAX_MINUTES = 480;

/** Properties of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /**
   * Settings of the environment the pipeline is defined in: its `pipeline` block (connection, repository, branch,
   * Prod account/region, post-deploy wait) and, for the Dev stage, every other setting.
   */
  readonly config: AppConfig;
  /** Settings of the environment the Prod stage deploys (stack names use its `envName`). */
  readonly prodConfig: AppConfig;
  /**
   * Builds the application stacks into each stage.
   * @default createApplicationStacks - the factory `bin/app.ts` uses
   */
  readonly createStacks?: ApplicationFactory;
}

/**
 * Settings of the environment the Prod stage deploys: the block named by `pipeline.prodEnvironment` (default `prod`),
 * validated like any environment.
 *
 * @throws ConfigError naming `pipeline.prodEnvironment` when that environment is missing or invalid
 */
export function loadProdConfig(ctx: ContextSource, config: AppConfig): AppConfig {
  const name = config.pipeline.prodEnvironment;
  try {
    return loadConfig({ tryGetContext: (key) => (key === 'env' ? name : ctx.tryGetContext(key)) });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError(
        `environments.${config.envName}.pipeline.prodEnvironment = "${name}" (the Prod stage's settings): ${err.message}`,
        err.issues,
      );
    }
    throw err;
  }
}

/**
 * Node.js line of the build (`runtime-versions` of the synth step on the Ubuntu standard:7.0 image). 22 is the newest
 * line that image lists as a runtime version (its Dockerfile carries Node 24, but runtimes.yml does not offer it yet:
 * aws/aws-codebuild-docker-images#803); it is a supported LTS (Node 20 is past end of life). The Lambdas run
 * PROJECT_RUNTIME (Node 24): esbuild bundles them for that target whatever Node runs the build, and the tests run on a
 * Node no newer than the Lambdas'. Move to '24' when the image lists it.
 */
export const BUILD_NODE_VERSION = '22';

/** Commands of the synth step, in order (also what the tests assert). */
export const SYNTH_INSTALL_COMMANDS: readonly string[] = [
  // The integration tests run against real servers (CI=true makes a missing binary a failure, not a skip).
  'apt-get update -qq',
  'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server',
  // The local Train/Transform stand-ins run XGBoost 1.7 (what SageMaker's XGBoost 1.7-1 runs) through Python. The
  // distribution's packages when they are 1.7, else the same line from pip (local/standins/xgboost.ts finds either).
  "(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xgboost python3-xgboost && /usr/bin/python3 -c 'import xgboost, sys; sys.exit(not xgboost.__version__.startswith(\"1.7.\"))') || pip3 install --quiet 'xgboost==1.7.6'",
  "pip3 install --quiet 'moto[server]==5.2.1'",
  // The CodeBuild standard image manages Python with pyenv: refresh its shims so moto_server is on PATH.
  'if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi',
  'redis-server --version',
  'command -v moto_server',
];
export const SYNTH_COMMANDS: readonly string[] = [
  'npm ci',
  'npm run typecheck',
  // Tests never reach the real account: the build role's container credentials are hidden from them (as in CI).
  'env -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI npm test',
  // synth keeps the credentials: context lookups (e.g. availability zones of an account-bound VPC) assume the CDK
  // lookup roles of the Dev and Prod accounts.
  'npx cdk synth',
];

/** Command of the post-deploy step on Dev: start a Training execution and wait for its end. */
export const POST_DEPLOY_TRAINING_COMMAND = 'sh scripts/start-training-and-wait.sh';

/**
 * The delivery pipeline (CDK Pipelines, self-mutating):
 *
 * `Source` (repository connection, configured branch) → `Build` (install, typecheck, test, `cdk synth`) →
 * `UpdatePipeline` (self-mutation) → `Assets` → `Dev` (every application stack, then `TrainOnDev`: skip with a
 * warning when Dev has no training data, else start a Training execution and wait up to
 * `postDeployTrainingWaitMinutes`; `pipeline.blockPromotionOn` decides which outcomes stop the pipeline) → `Prod`
 * (`PromoteToProd` manual approval, then every application stack in the Prod account/region).
 *
 * Artifacts are encrypted with the pipeline's own KMS key (rotated) whatever the Prod account, so a cross-account Prod
 * stage needs no change here; `crossAccountKeys` is also set when Prod is in another account or region (it then
 * KMS-encrypts the replication bucket CodePipeline generates in the Prod region).
 *
 * @throws ConfigError when the connection or repository is missing, when Dev and Prod would collide (same account,
 *   region and namePrefix), or when Prod is in another region and the pipeline's region is not set
 */
export class PipelineStack extends Stack {
  /** The CDK Pipelines construct (built: its generated CodePipeline and projects exist). */
  public readonly pipeline: pipelines.CodePipeline;
  /** Every application stack of the pipeline's own environment, deployed first. */
  public readonly devStage: PipelineStage;
  /** Every application stack of `pipeline.prodEnvironment`, deployed after the manual approval. */
  public readonly prodStage: PipelineStage;
  /** KMS key of the artifact bucket and the build logs. */
  public readonly key: kms.Key;
  public readonly artifactBucket: s3.Bucket;
  /** The post-deploy step on Dev. */
  public readonly trainOnDev: pipelines.CodeBuildStep;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { config, prodConfig } = props;
    const p = config.pipeline;
    if (!p.connectionArn) {
      throw new ConfigError(
        `environments.${config.envName}.pipeline.connectionArn is missing: the pipeline needs a repository connection`,
        ['pipeline.connectionArn missing'],
      );
    }
    if (!p.repository) {
      throw new ConfigError(
        `environments.${config.envName}.pipeline.repository = (missing) is not allowed: expected owner/name of the repository the connection reads`,
        ['pipeline.repository missing'],
      );
    }
    const prefix = config.namePrefix;

    // --- Environments of the two stages -------------------------------------------------------------------------
    // Dev deploys where the pipeline lives; Prod where pipeline.prodAccount/prodRegion say (default: the Prod
    // environment block's account/region, then the pipeline's own).
    const devEnv = { account: config.account, region: config.region };
    const prodEnv = {
      account: p.prodAccount ?? prodConfig.account ?? config.account,
      region: p.prodRegion ?? prodConfig.region ?? config.region,
    };
    // Physical names carry namePrefix and envName (lib/physical-names.ts), so Dev and Prod share an account and region
    // unless both are the same.
    if (
      prodEnv.account === devEnv.account &&
      prodEnv.region === devEnv.region &&
      physicalNames(prodConfig).stem === physicalNames(config).stem
    ) {
      throw new ConfigError(
        `environments.${config.envName}.pipeline: Dev and Prod would deploy to the same account and region (${devEnv.account ?? 'pipeline account'}/${devEnv.region ?? 'pipeline region'}) as the same environment "${physicalNames(config).stem}", so their stacks and named resources (state machines, model package group) collide; expected pipeline.prodEnvironment to name another environment, pipeline.prodAccount or pipeline.prodRegion to differ, or a different environments.${prodConfig.envName}.namePrefix`,
        ['pipeline prod environment collides with dev'],
      );
    }
    const crossAccount = prodEnv.account !== devEnv.account;
    // Another region needs a replication bucket there (a support stack CodePipeline generates); KMS-encrypt it too.
    const crossRegion = prodEnv.region !== devEnv.region;
    if (crossRegion && !devEnv.region) {
      throw new ConfigError(
        `environments.${config.envName}.region = (missing) is not allowed: expected the pipeline's region (e.g. eu-west-1) when Prod deploys to another region (pipeline.prodRegion = ${prodEnv.region})`,
        ['region missing for a cross-region pipeline'],
      );
    }

    // --- Encryption and storage ---------------------------------------------------------------------------------
    this.key = new kms.Key(this, 'PipelineKey', {
      description: `${prefix}: pipeline artifacts and build logs`,
      enableKeyRotation: true,
      alias: `alias/${prefix}-pipeline`,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    allowCloudWatchLogs(this.key);

    // Server access logs cannot be delivered to an SSE-KMS bucket, so this one uses S3-managed keys (metadata only).
    const accessLogs = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(365) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });
    acknowledge(accessLogs, {
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log target bucket of the pipeline artifacts; logging it into itself would loop.',
    });

    this.artifactBucket = new s3.Bucket(this, 'ArtifactBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      lifecycleRules: [
        // Pipeline artifacts (source zips, cloud assemblies) are only needed while executions can be retried.
        { id: 'expire-artifacts', expiration: Duration.days(90) },
        { id: 'expire-noncurrent', noncurrentVersionExpiration: Duration.days(30) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
    });

    const buildLogs = new logs.LogGroup(this, 'BuildLogs', {
      logGroupName: `/aws/codebuild/${prefix}-pipeline`,
      retention: config.logRetentionDays as logs.RetentionDays,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    // --- Pipeline -----------------------------------------------------------------------------------------------
    const lookupRoles = this.lookupRoleArns(devEnv.account, prodEnv.account);
    const source = pipelines.CodePipelineSource.connection(p.repository, p.branch, {
      connectionArn: p.connectionArn,
      triggerOnPush: true,
    });

    const synth = new pipelines.ShellStep('Synth', {
      input: source,
      installCommands: [...SYNTH_INSTALL_COMMANDS],
      commands: [...SYNTH_COMMANDS],
      env: {
        // Integration tests fail (instead of skipping) when moto_server / redis-server are missing.
        CI: 'true',
        // No instance-metadata credential lookups (CodeBuild provides container credentials).
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      primaryOutputDirectory: 'cdk.out',
    });

    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineName: `${prefix}-pipeline`,
      synth,
      selfMutation: true,
      crossAccountKeys: crossAccount || crossRegion,
      enableKeyRotation: crossAccount || crossRegion,
      artifactBucket: this.artifactBucket,
      // One publishing project per asset type (fewer CodeBuild projects and roles).
      publishAssetsInParallel: false,
      codeBuildDefaults: {
        buildEnvironment: {
          buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
          computeType: codebuild.ComputeType.SMALL,
          privileged: false,
        },
        logging: { cloudWatch: { logGroup: buildLogs } },
      },
      synthCodeBuildDefaults: {
        buildEnvironment: { computeType: codebuild.ComputeType.MEDIUM },
        partialBuildSpec: codebuild.BuildSpec.fromObject({
          phases: { install: { 'runtime-versions': { nodejs: BUILD_NODE_VERSION } } },
        }),
        timeout: Duration.minutes(60),
        // `cdk synth` resolves context lookups (cdk.context.json is not committed) through the CDK bootstrap lookup
        // roles (read-only) of the accounts it deploys to.
        rolePolicy: [
          new iam.PolicyStatement({
            sid: 'AssumeCdkLookupRoles',
            actions: ['sts:AssumeRole'],
            resources: lookupRoles,
            conditions: { StringEquals: { 'iam:ResourceTag/aws-cdk:bootstrap-role': 'lookup' } },
          }),
        ],
      },
    });

    // --- Stages -------------------------------------------------------------------------------------------------
    this.devStage = new PipelineStage(this, 'Dev', {
      config,
      env: devEnv.account || devEnv.region ? devEnv : undefined,
      createStacks: props.createStacks,
    });
    const training = this.devStage.trainingStateMachine;
    const waitMinutes = p.postDeployTrainingWaitMinutes;
    const trainingStack = this.devStage.stacks.training;
    const executionArns = trainingStack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${training.name}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const devData = this.devStage.stacks.data;
    const featuresBucketOutput = devData.node.tryFindChild('FeaturesBucketName');
    if (!(featuresBucketOutput instanceof CfnOutput)) {
      throw new Error(`${devData.node.path}: no CfnOutput "FeaturesBucketName" (TrainOnDev checks for training data)`);
    }
    this.trainOnDev = new pipelines.CodeBuildStep('TrainOnDev', {
      // The repository checkout carries the script; the state machine ARN and the features bucket come from the Dev
      // stacks' outputs. An empty training/ prefix skips the run with a warning (a fresh Dev account has no data).
      input: source,
      commands: [POST_DEPLOY_TRAINING_COMMAND],
      env: {
        WAIT_MINUTES: String(waitMinutes),
        POLL_SECONDS: '30',
        RUN_TRIGGER: 'pipeline',
        BLOCK_PROMOTION_ON: p.blockPromotionOn,
      },
      envFromCfnOutputs: { TRAINING_STATE_MACHINE_ARN: training.arnOutput, FEATURES_BUCKET: featuresBucketOutput },
      // Start and watch one execution, nothing else: no StopExecution, no other state machine.
      rolePolicyStatements: [
        new iam.PolicyStatement({
          sid: 'StartTrainingOnDev',
          actions: ['states:StartExecution'],
          resources: [training.arn],
        }),
        new iam.PolicyStatement({
          sid: 'WatchTrainingOnDev',
          actions: ['states:DescribeExecution'],
          resources: [executionArns],
        }),
        // The bucket name is a string with pseudo parameters (no cross-stage reference); Dev deploys to this account
        // and region, where they resolve to the Dev bucket.
        new iam.PolicyStatement({
          sid: 'LookForTrainingData',
          actions: ['s3:ListBucket'],
          resources: [`arn:${this.partition}:s3:::${devData.featuresBucketName}`],
          conditions: { StringLike: { 's3:prefix': [keysUnder(TRAINING_PREFIX)] } },
        }),
      ],
      timeout: Duration.minutes(Math.min(CODEBUILD_MAX_MINUTES, waitMinutes + 10)),
    });
    this.pipeline.addStage(this.devStage, { post: [this.trainOnDev] });

    this.prodStage = new PipelineStage(this, 'Prod', {
      config: prodConfig,
      env: prodEnv.account || prodEnv.region ? prodEnv : undefined,
      createStacks: props.createStacks,
    });
    this.pipeline.addStage(this.prodStage, {
      pre: [
        new pipelines.ManualApprovalStep('PromoteToProd', {
          comment: `Dev is deployed and its Training run passed (pipeline.blockPromotionOn = ${p.blockPromotionOn}; see the TrainOnDev log). Approve to deploy ${p.branch} to Prod (${prodConfig.envName}).`,
        }),
      ],
    });

    // Build now so the generated constructs exist for the acknowledgements below.
    this.pipeline.buildPipeline();
    acknowledgeGenerated(this, executionArns, lookupRoles);
    acknowledgeCrossRegionSupport(this.pipeline);
    // cfn-lint 1.x reports E3703 ("prefer Fn::Sub over Fn::Join") on the deploy actions' RoleArn, which CDK Pipelines
    // renders as Fn::Join of the partition and the bootstrap role name. Equivalent and generated: ignored on this
    // one resource only, so every other template and resource is still checked.
    const cfnPipeline = this.pipeline.pipeline.node.defaultChild as CfnResource;
    cfnPipeline.addMetadata('cfn-lint', { config: { ignore_checks: ['E3703'] } });
  }

  /** `arn:<partition>:iam::<account>:role/*` of each deploy account (the pipeline's own when unset). */
  private lookupRoleArns(...accounts: (string | undefined)[]): string[] {
    const unique = [...new Set(accounts.map((a) => a ?? this.account))];
    return unique.map((account) => `arn:${this.partition}:iam::${account}:role/*`);
  }
}
