import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../bin/app';
import { type AppConfig, ConfigError, loadConfig } from '../../lib/config';
import { PROJECT_RUNTIME } from '../../lib/constructs/project-function';
import { physicalNames } from '../../lib/physical-names';
import {
  BUILD_NODE_VERSION,
  loadProdConfig,
  PipelineStack,
  POST_DEPLOY_TRAINING_COMMAND,
  SYNTH_COMMANDS,
  SYNTH_INSTALL_COMMANDS,
} from '../../lib/stacks/pipeline-stack';
import { findStateMachines } from '../../local/runtime/inventory';
import { synthesizeApp } from '../../local/runtime/synth';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

const DEV_ACCOUNT = '111111111111';
const PROD_ACCOUNT = '222222222222';
const REGION = 'eu-west-1';
const CONNECTION = `arn:aws:codeconnections:${REGION}:${DEV_ACCOUNT}:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab`;

type Json = Record<string, unknown>;

/** cdk.json context with the pipeline configured in the dev environment (plus overrides of its pipeline block). */
function pipelineContext(pipeline: Json = {}, dev: Json = {}): Record<string, unknown> {
  const ctx = testContext();
  const envs = ctx.environments as Record<string, Json>;
  return {
    ...ctx,
    environments: {
      ...envs,
      dev: {
        ...envs.dev,
        account: DEV_ACCOUNT,
        region: REGION,
        ...dev,
        pipeline: {
          connectionArn: CONNECTION,
          repository: 'acme/mlops-batch-pipeline',
          branch: 'main',
          prodAccount: PROD_ACCOUNT,
          postDeployTrainingWaitMinutes: 45,
          ...pipeline,
        },
      },
    },
  };
}

function configs(app: App): { config: AppConfig; prodConfig: AppConfig } {
  const config = loadConfig(app.node);
  const prodConfig = loadProdConfig(app.node, config);
  return { config, prodConfig };
}

// --- The app under test: bin/app.ts with a connection configured, built and synthesized once (cdk-nag attached) ---
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-app-'));
const infoLines: string[] = [];
const built = createApp({ context: pipelineContext(), outdir }, { info: (line) => infoLines.push(line) });
const { app, config } = built;
if (!built.pipeline) throw new Error('createApp built no PipelineStack although pipeline.connectionArn is set');
const stack: PipelineStack = built.pipeline;
const prodConfig = loadProdConfig(app.node, config);
// A finding in an application stack (covered by nag.test.ts) makes synth throw after writing every template and the
// report; the assertions below read what was written, so the pipeline's own checks still run.
let synthError: unknown;
try {
  app.synth();
} catch (err) {
  synthError = err;
}
const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
    suppressedViolations?: { ruleName: string; reason?: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
};
/** The synthesized template of a stack (top level or inside a stage), read from the assembly on disk. */
function templateOf(s: Stack): Template {
  const dir = Stage.of(s)?.outdir ?? outdir;
  return Template.fromJSON(JSON.parse(fs.readFileSync(path.join(dir, s.templateFile), 'utf8')));
}
const template = templateOf(stack);

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

interface Action {
  Name: string;
  RunOrder: number;
  ActionTypeId: { Category: string; Provider: string };
  Configuration?: Json;
  Namespace?: string;
  RoleArn?: unknown;
  InputArtifacts?: { Name: string }[];
  OutputArtifacts?: { Name: string }[];
}
interface PipelineStage {
  Name: string;
  Actions: Action[];
}

const [pipelineResource] = Object.values(template.findResources('AWS::CodePipeline::Pipeline')) as {
  Properties: { Stages: PipelineStage[]; ArtifactStore: Json; Name: string };
}[];
const stages = pipelineResource!.Properties.Stages;
const stage = (name: string): PipelineStage => {
  const s = stages.find((x) => x.Name === name);
  if (!s) throw new Error(`no pipeline stage ${name}; stages: ${stages.map((x) => x.Name).join(', ')}`);
  return s;
};
const action = (stageName: string, actionName: string): Action => {
  const a = stage(stageName).Actions.find((x) => x.Name === actionName);
  if (!a) throw new Error(`no action ${actionName} in ${stageName}`);
  return a;
};

/** The CodeBuild project a CodeBuild action runs (by its `ProjectName: { Ref }`). */
function projectOf(a: Action): { Properties: Json; logicalId: string } {
  const ref = (a.Configuration?.ProjectName as { Ref?: string } | undefined)?.Ref;
  if (!ref) throw new Error(`action ${a.Name} runs no CodeBuild project of this stack`);
  const projects = template.findResources('AWS::CodeBuild::Project');
  const project = projects[ref];
  if (!project) throw new Error(`no CodeBuild project ${ref}`);
  return { Properties: project.Properties as Json, logicalId: ref };
}
function buildSpecOf(a: Action): {
  phases: Record<string, { commands?: string[]; 'runtime-versions'?: Json }>;
  env?: Json;
} {
  const source = projectOf(a).Properties.Source as { BuildSpec: string };
  return JSON.parse(source.BuildSpec);
}

const APP_STACKS = ['data', 'network', 'serving', 'training', 'batch', 'monitoring'];

describe('PipelineStack: structure', () => {
  const nag = () => {
    const r = report.pluginReports.find((x) => x.pluginName === 'AwsSolutions');
    if (!r) throw new Error(`cdk-nag did not run (synth: ${String(synthError)})`);
    return r;
  };
  const inStage = (p: string) => p.startsWith(`${stack.node.path}/Dev/`) || p.startsWith(`${stack.node.path}/Prod/`);

  test('cdk-nag AwsSolutions has no open finding on the pipeline stack (CDK Pipelines constructs included)', () => {
    const open = nag().violations.flatMap((v) =>
      v.violatingConstructs.filter((c) => !inStage(c.constructPath)).map((c) => `${v.ruleName} at ${c.constructPath}`),
    );
    expect(open).toEqual([]);
    for (const s of nag().suppressedViolations ?? []) expect((s.reason ?? '').length).toBeGreaterThanOrEqual(20);
  });

  test('cdk-nag also inspects the stacks inside the Dev and Prod stages (so the pipeline synth enforces it)', () => {
    const seen = [...nag().violations, ...(nag().suppressedViolations ?? [])].flatMap((v) =>
      v.violatingConstructs.map((c) => c.constructPath),
    );
    expect(seen.some((p) => p.startsWith(`${stack.node.path}/Dev/Data/`))).toBe(true);
    expect(seen.some((p) => p.startsWith(`${stack.node.path}/Prod/Data/`))).toBe(true);
  });

  test('stages in order: Source → Build → UpdatePipeline → (Assets) → Dev → Prod', () => {
    const names = stages.map((s) => s.Name).filter((n) => n !== 'Assets');
    expect(names).toEqual(['Source', 'Build', 'UpdatePipeline', 'Dev', 'Prod']);
    expect(pipelineResource!.Properties.Name).toBe('mlops-batch-pipeline');
  });

  test('Source reads the configured repository and branch through the connection, on every push', () => {
    const [src] = stage('Source').Actions;
    expect(src!.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
    expect(src!.Configuration).toMatchObject({
      ConnectionArn: CONNECTION,
      FullRepositoryId: 'acme/mlops-batch-pipeline',
      BranchName: 'main',
      DetectChanges: true,
    });
  });

  test('Build (synth) installs redis-server and moto_server, then runs npm ci, typecheck, npm test, cdk synth with CI=true', () => {
    const synth = action('Build', 'Synth');
    const spec = buildSpecOf(synth);
    expect(spec.phases.install?.commands).toEqual([...SYNTH_INSTALL_COMMANDS]);
    expect(spec.phases.install?.['runtime-versions']).toEqual({ nodejs: BUILD_NODE_VERSION });
    // Node 22 or newer, and never newer than the Lambdas' runtime (nodejs24.x).
    const lambdaMajor = Number(/nodejs(\d+)/.exec(PROJECT_RUNTIME.name)?.[1]);
    expect(Number(BUILD_NODE_VERSION)).toBeGreaterThanOrEqual(22);
    expect(Number(BUILD_NODE_VERSION)).toBeLessThanOrEqual(lambdaMajor);
    expect(spec.phases.build?.commands).toEqual([
      'npm ci',
      'npm run typecheck',
      'env -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI npm test',
      'npx cdk synth',
    ]);
    expect(SYNTH_COMMANDS).toEqual(spec.phases.build?.commands);
    expect(SYNTH_INSTALL_COMMANDS.join('\n')).toMatch(/apt-get install .*redis-server/);
    expect(SYNTH_INSTALL_COMMANDS.join('\n')).toMatch(/pip3? install .*moto\[server\]/);
    const env = (projectOf(synth).Properties.Environment as { EnvironmentVariables: { Name: string; Value: string }[] })
      .EnvironmentVariables;
    expect(env).toEqual(expect.arrayContaining([{ Name: 'CI', Type: 'PLAINTEXT', Value: 'true' }]));
    // The cloud assembly is the build's output (what UpdatePipeline and the stages deploy).
    expect((spec as { artifacts?: { 'base-directory'?: string } }).artifacts?.['base-directory']).toBe('cdk.out');
  });

  test('the synth role may assume only the CDK lookup roles of the Dev and Prod accounts (context lookups)', () => {
    const roleRef = (projectOf(action('Build', 'Synth')).Properties.ServiceRole as { 'Fn::GetAtt': [string, string] })[
      'Fn::GetAtt'
    ][0];
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
    const assume = statements.filter((st) => [st.Action].flat().includes('sts:AssumeRole'));
    expect(assume).toEqual([
      expect.objectContaining({
        Condition: { StringEquals: { 'iam:ResourceTag/aws-cdk:bootstrap-role': 'lookup' } },
        Resource: [`arn:aws:iam::${DEV_ACCOUNT}:role/*`, `arn:aws:iam::${PROD_ACCOUNT}:role/*`],
      }),
    ]);
  });

  test('UpdatePipeline self-mutates from the synth output before any stage deploys', () => {
    const mutate = action('UpdatePipeline', 'SelfMutate');
    expect(mutate.InputArtifacts).toEqual([{ Name: 'Synth_Output' }]);
    const commands = buildSpecOf(mutate).phases.build?.commands ?? [];
    expect(commands.join('\n')).toMatch(/cdk -a \. deploy mlops-batch-pipeline --require-approval=never/);
  });

  test('artifacts are stored KMS-encrypted in the pipeline bucket (SSE-KMS, versioned, access-logged, TLS only)', () => {
    expect(pipelineResource!.Properties.ArtifactStore).toMatchObject({
      Type: 'S3',
      EncryptionKey: { Type: 'KMS', Id: { 'Fn::GetAtt': [expect.stringMatching(/^PipelineKey/), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'artifacts/' }),
    });
    // Every CodeBuild project logs to the encrypted build log group.
    const projects = Object.values(template.findResources('AWS::CodeBuild::Project'));
    expect(projects.length).toBeGreaterThanOrEqual(4);
    for (const p of projects) {
      expect(p.Properties.LogsConfig.CloudWatchLogs).toMatchObject({
        Status: 'ENABLED',
        GroupName: { Ref: expect.stringMatching(/^BuildLogs/) },
      });
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/codebuild/mlops-batch-pipeline',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineKey'), 'Arn'] },
      RetentionInDays: config.logRetentionDays,
    });
  });
});

describe('PipelineStack: Dev stage and the post-deploy Training run', () => {
  const dev = () => stage('Dev');
  const deploys = () => dev().Actions.filter((a) => a.ActionTypeId.Category === 'Deploy');

  test('Dev deploys every application stack of the dev environment', () => {
    const stackNames = new Set(deploys().map((a) => a.Configuration?.StackName));
    expect([...stackNames].sort()).toEqual(APP_STACKS.map((s) => `mlops-batch-dev-${s}`).sort());
    // and the stage really holds those stacks (the factory the app uses)
    expect(stack.devStage.stacks.all.map((s) => s.stackName).sort()).toEqual([...stackNames].sort());
  });

  test('TrainOnDev runs after every Dev deploy, from the repository checkout, with the state machine ARN from the Dev training stack output', () => {
    const train = action('Dev', 'TrainOnDev');
    expect(train.ActionTypeId).toMatchObject({ Category: 'Build', Provider: 'CodeBuild' });
    expect(train.RunOrder).toBeGreaterThan(Math.max(...deploys().map((a) => a.RunOrder)));
    const sourceOutput = stage('Source').Actions[0]?.OutputArtifacts;
    expect(sourceOutput).toHaveLength(1);
    expect(train.InputArtifacts).toEqual(sourceOutput);

    const trainingDeploy = deploys().find(
      (a) =>
        a.Configuration?.StackName === 'mlops-batch-dev-training' &&
        a.Configuration?.ActionMode === 'CHANGE_SET_EXECUTE',
    );
    expect(trainingDeploy?.Namespace).toEqual(expect.any(String));
    const vars = JSON.parse(String(train.Configuration?.EnvironmentVariables)) as { name: string; value: string }[];
    const dataDeploy = deploys().find(
      (a) =>
        a.Configuration?.StackName === 'mlops-batch-dev-data' && a.Configuration?.ActionMode === 'CHANGE_SET_EXECUTE',
    );
    expect(vars).toContainEqual({
      name: 'FEATURES_BUCKET',
      type: 'PLAINTEXT',
      value: `#{${dataDeploy!.Namespace}.FeaturesBucketName}`,
    });
    expect(vars).toContainEqual({
      name: 'TRAINING_STATE_MACHINE_ARN',
      type: 'PLAINTEXT',
      value: `#{${trainingDeploy!.Namespace}.TrainingStateMachineArn}`,
    });
    // The output exists in the Dev training stack and holds the state machine's ARN.
    const devTraining = templateOf(stack.devStage.stacks.training);
    devTraining.hasOutput('TrainingStateMachineArn', {
      Value: { Ref: Match.stringLikeRegexp('StateMachine') },
    });
  });

  test('TrainOnDev starts the Training state machine and waits at most postDeployTrainingWaitMinutes', () => {
    const train = action('Dev', 'TrainOnDev');
    expect(buildSpecOf(train).phases.build?.commands).toEqual([POST_DEPLOY_TRAINING_COMMAND]);
    expect(POST_DEPLOY_TRAINING_COMMAND).toBe('sh scripts/start-training-and-wait.sh');
    expect(fs.existsSync(path.join(__dirname, '..', '..', 'scripts', 'start-training-and-wait.sh'))).toBe(true);
    const { Properties } = projectOf(train);
    const env = (Properties.Environment as { EnvironmentVariables: { Name: string; Value: string }[] })
      .EnvironmentVariables;
    expect(env).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Name: 'WAIT_MINUTES', Value: '45' }),
        // The documented default: a failed run blocks promotion, a gate rejection only warns.
        expect.objectContaining({ Name: 'BLOCK_PROMOTION_ON', Value: 'failure' }),
      ]),
    );
    // CodeBuild must outlive the wait, or the build times out with a less clear error.
    expect(Properties.TimeoutInMinutes).toBe(55);
  });

  test('TrainOnDev may only start the Dev Training state machine and describe its executions', () => {
    const smName = physicalNames(config).trainingStateMachine;
    templateOf(stack.devStage.stacks.training).hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: smName,
    });
    const train = action('Dev', 'TrainOnDev');
    const roleRef = (projectOf(train).Properties.ServiceRole as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleRef),
    );
    const statements = policies.flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const stateStatements = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('states:')));
    expect(stateStatements).toEqual([
      expect.objectContaining({
        Action: 'states:StartExecution',
        Resource: `arn:aws:states:${REGION}:${DEV_ACCOUNT}:stateMachine:${smName}`,
      }),
      expect.objectContaining({
        Action: 'states:DescribeExecution',
        Resource: `arn:aws:states:${REGION}:${DEV_ACCOUNT}:execution:${smName}:*`,
      }),
    ]);
    // It may look for training data in the Dev features bucket (training/ only).
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: 's3:ListBucket',
        // Pseudo parameters of the pipeline stack: Dev deploys into the pipeline's own account and region.
        Resource: {
          'Fn::Join': [
            '',
            ['arn:aws:s3:::mlops-batch-dev-features-', { Ref: 'AWS::AccountId' }, '-', { Ref: 'AWS::Region' }],
          ],
        },
        Condition: { StringLike: { 's3:prefix': ['training/*'] } },
      }),
    );
    // Nothing else beyond CodeBuild's own logs/reports, the artifact bucket and its key.
    const allowedPrefixes = ['states:', 'logs:', 'codebuild:', 's3:', 'kms:'];
    for (const a of statements.flatMap((s) => [s.Action].flat())) {
      expect(allowedPrefixes.some((p) => a.startsWith(p))).toBe(true);
      expect(a).not.toBe('*');
    }
  });
});

describe('PipelineStack: approval and Prod', () => {
  test('Prod starts with the manual approval, then deploys every stack of the prod environment into the Prod account', () => {
    const prod = stage('Prod');
    const [first, ...rest] = [...prod.Actions].sort((a, b) => a.RunOrder - b.RunOrder);
    expect(first).toMatchObject({ Name: 'PromoteToProd', ActionTypeId: { Category: 'Approval', Provider: 'Manual' } });
    expect(rest.every((a) => a.RunOrder > first!.RunOrder)).toBe(true);
    const deploys = rest.filter((a) => a.ActionTypeId.Category === 'Deploy');
    expect([...new Set(deploys.map((a) => a.Configuration?.StackName))].sort()).toEqual(
      APP_STACKS.map((s) => `mlops-batch-prod-${s}`).sort(),
    );
    // Cross-account: CloudFormation runs with the CDK bootstrap deploy role of the Prod account.
    for (const a of deploys) {
      expect(JSON.stringify(a.RoleArn)).toContain(
        `:iam::${PROD_ACCOUNT}:role/cdk-hnb659fds-deploy-role-${PROD_ACCOUNT}-${REGION}`,
      );
    }
    expect(stack.prodStage.account).toBe(PROD_ACCOUNT);
    expect(stack.prodStage.region).toBe(REGION);
    // The Prod stage is built from the prod environment's settings.
    expect(prodConfig.envName).toBe('prod');
    templateOf(stack.prodStage.stacks.serving).hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      CacheNodeType: prodConfig.cache.nodeType,
    });
  });

  test('Dev deploys into the pipeline account', () => {
    for (const a of stage('Dev').Actions.filter((x) => x.ActionTypeId.Category === 'Deploy')) {
      expect(JSON.stringify(a.RoleArn)).toContain(
        `:iam::${DEV_ACCOUNT}:role/cdk-hnb659fds-deploy-role-${DEV_ACCOUNT}-${REGION}`,
      );
    }
  });

  test('the Prod account can read the artifacts (bucket key grants the cross-account deploy roles)', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key'));
    const policyText = JSON.stringify(keys.map((k) => k.Properties.KeyPolicy));
    expect(policyText).toContain(`:iam::${PROD_ACCOUNT}:role/cdk-hnb659fds-deploy-role-${PROD_ACCOUNT}-${REGION}`);
  });
});

describe('PipelineStack: configuration errors', () => {
  const attempt = (pipeline: Json, dev: Json = {}) => {
    const a = new App({ context: pipelineContext(pipeline, dev) });
    const c = configs(a);
    return () => new PipelineStack(a, 'P', { ...c, env: { account: c.config.account, region: c.config.region } });
  };

  test('a missing repository is named', () => {
    expect(attempt({ repository: undefined })).toThrow(ConfigError);
    expect(attempt({ repository: undefined })).toThrow(/environments\.dev\.pipeline\.repository/);
  });

  test('Dev and Prod in one account and region deploy side by side (their names carry the environment)', () => {
    expect(attempt({ prodAccount: DEV_ACCOUNT })).not.toThrow();
  });

  test('Prod as the same environment as Dev in the same account and region would collide', () => {
    expect(attempt({ prodAccount: DEV_ACCOUNT, prodEnvironment: 'dev' })).toThrow(
      /same account and region .*same environment "mlops-batch-dev"/,
    );
  });

  test('an unknown Prod environment is named with the key that chose it', () => {
    const a = new App({ context: pipelineContext({ prodEnvironment: 'production' }) });
    expect(() => loadProdConfig(a.node, loadConfig(a.node))).toThrow(
      /environments\.dev\.pipeline\.prodEnvironment = "production" .*env = "production" is not defined; expected one of dev, prod/,
    );
  });

  test('a Prod region other than the pipeline needs the pipeline region', () => {
    expect(attempt({ prodRegion: 'us-east-1' }, { region: undefined })).toThrow(
      /environments\.dev\.region = \(missing\).*pipeline\.prodRegion = us-east-1/,
    );
  });
});

describe('bin/app.ts wiring', () => {
  test('with a connection the app holds only the pipeline stack; its Dev stage holds the application stacks', () => {
    const topLevel = app.node.children.filter((c): c is Stack => Stack.isStack(c));
    expect(topLevel).toEqual([stack]);
    expect(stack.stackName).toBe('mlops-batch-pipeline');
    expect(stack.node.id).toBe('mlops-batch-pipeline');
    // PipelineApp's fields are the Dev stage's stacks (same factory as a direct deploy).
    expect(built.training).toBe(stack.devStage.stacks.training);
    expect(built.monitoring).toBe(stack.devStage.stacks.monitoring);
    expect(stack.devStage.stacks.all.map((s) => s.stackName)).toEqual(APP_STACKS.map((s) => `mlops-batch-dev-${s}`));
    expect(infoLines).toEqual([]);
  });

  test('the local runtime (buildApp) still synthesizes one environment: exactly one Training state machine', () => {
    const synthesized = synthesizeApp({ context: pipelineContext() });
    expect(synthesized.stacks.map((s) => s.stackName)).not.toContain('mlops-batch-pipeline');
    const training = findStateMachines(synthesized, 'Training');
    expect(training).toHaveLength(1);
    expect(training[0]?.definition.StartAt).toBe('StartRun');
  });

  test('without a connection: no pipeline stack, the application stacks at top level, and one line on how to enable it', () => {
    const lines: string[] = [];
    const plain = createApp({ context: testContext() }, { info: (line) => lines.push(line) });
    expect(plain.pipeline).toBeUndefined();
    expect(plain.app.node.findAll().some((c) => c instanceof PipelineStack)).toBe(false);
    const topLevel = plain.app.node.children.filter((c): c is Stack => Stack.isStack(c));
    expect(topLevel.map((s) => s.stackName)).toEqual(APP_STACKS.map((s) => `mlops-batch-dev-${s}`));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(lines[0]).toMatch(
      /pipeline\.connectionArn and pipeline\.repository under context\.environments\.dev in cdk\.json/,
    );
    expect(lines[0]).toContain('npx cdk deploy mlops-batch-pipeline');
  });

  test('the local runtime never prints the notice (it builds without the pipeline)', () => {
    const lines: string[] = [];
    createApp({ context: testContext() }, { pipeline: false, info: (line) => lines.push(line) });
    expect(lines).toEqual([]);
  });
});
