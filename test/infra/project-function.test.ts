import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import {
  ENTRY_METADATA_KEY,
  entryRelativePath,
  ProjectFunction,
  REPO_ROOT,
} from '../../lib/constructs/project-function';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

const ENTRY = 'test/infra/fixtures/echo/handler.ts';

// One app: the configured environment sets logRetentionDays = 14 (the function reads it from context).
const app = new App({ context: testContext({ environments: { dev: { logRetentionDays: 14 } } }) });
const stack = new Stack(app, 'Fn');
const plain = new ProjectFunction(stack, 'Plain', {
  entry: ENTRY,
  description: 'plain function',
  environment: { TABLE_NAME: 'pipeline', POWERTOOLS_SERVICE_NAME: 'ignored' },
});
const vpc = new ec2.Vpc(stack, 'Vpc', {
  natGateways: 0,
  maxAzs: 2,
  restrictDefaultSecurityGroup: false,
  subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
});
const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc, allowAllOutbound: false });
const key = new kms.Key(stack, 'Key');
const inVpc = new ProjectFunction(stack, 'InVpc', {
  entry: `${REPO_ROOT}/${ENTRY}`,
  description: 'vpc function',
  serviceName: 'reader',
  vpc,
  securityGroups: [sg],
  timeout: Duration.seconds(10),
  memorySize: 1024,
  reservedConcurrentExecutions: 5,
  logEncryptionKey: key,
});
const template = Template.fromStack(stack);
const fn = (f: ProjectFunction) => template.toJSON().Resources[stack.getLogicalId(f.node.defaultChild as never)];

describe('ProjectFunction', () => {
  test('project defaults: newest Node.js runtime, ARM64, active tracing, handler export', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
  });

  test('Powertools and source-map environment; construct values win over caller values', () => {
    expect(fn(plain).Properties).toMatchObject({
      Environment: {
        Variables: {
          TABLE_NAME: 'pipeline',
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'echo',
          POWERTOOLS_METRICS_NAMESPACE: 'MlopsBatchPipeline',
        },
      },
      MemorySize: 512,
      Timeout: 30,
      Description: 'plain function',
    });
    expect(fn(inVpc).Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('reader');
  });

  test('mlops:entry metadata is the entry path relative to the repository root (relative or absolute input)', () => {
    expect(fn(plain).Metadata[ENTRY_METADATA_KEY]).toBe(ENTRY);
    expect(fn(inVpc).Metadata[ENTRY_METADATA_KEY]).toBe(ENTRY);
    expect(plain.entryPath).toBe(ENTRY);
    expect(entryRelativePath(`${REPO_ROOT}/lambdas/x/handler.ts`)).toBe('lambdas/x/handler.ts');
  });

  test('explicit log group: retention from config, KMS when given', () => {
    const plainLg = stack.getLogicalId(plain.functionLogGroup.node.defaultChild as never);
    const vpcLg = stack.getLogicalId(inVpc.functionLogGroup.node.defaultChild as never);
    expect(fn(plain).Properties.LoggingConfig).toEqual({ LogGroup: { Ref: plainLg } });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 14, KmsKeyId: Match.absent() },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 14,
      KmsKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as never), 'Arn'] },
    });
    expect(fn(inVpc).Properties.LoggingConfig).toEqual({ LogGroup: { Ref: vpcLg } });
  });

  test('execution role: no managed policies; log writes scoped to its own log group', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    const plainLg = stack.getLogicalId(plain.functionLogGroup.node.defaultChild as never);
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of echo',
      Policies: [
        {
          PolicyName: 'Base',
          PolicyDocument: {
            Statement: [
              {
                Sid: 'WriteOwnLogs',
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: { 'Fn::GetAtt': [plainLg, 'Arn'] },
              },
            ],
          },
        },
      ],
    });
  });

  test('X-Ray permissions come from active tracing', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }),
        ]),
      },
    });
  });

  test('in a VPC: isolated subnets, given security groups, ENI permissions, limits', () => {
    expect(fn(inVpc).Properties).toMatchObject({
      VpcConfig: {
        SecurityGroupIds: [{ 'Fn::GetAtt': [stack.getLogicalId(sg.node.defaultChild as never), 'GroupId'] }],
        SubnetIds: [
          { Ref: expect.stringMatching(/isolatedSubnet1/) },
          { Ref: expect.stringMatching(/isolatedSubnet2/) },
        ],
      },
      ReservedConcurrentExecutions: 5,
      Timeout: 10,
      MemorySize: 1024,
    });
    expect(fn(plain).Properties.VpcConfig).toBeUndefined();
    const statements = new Capture();
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of reader',
      Policies: [{ PolicyName: 'Base', PolicyDocument: { Statement: statements } }],
    });
    expect(statements.asArray()).toContainEqual(
      expect.objectContaining({
        Sid: 'ManageVpcNetworkInterfaces',
        Action: expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']),
        Resource: '*',
      }),
    );
  });

  test('a missing entry fails at construction', () => {
    const s = new Stack(new App({ context: testContext() }), 'Bad');
    expect(
      () => new ProjectFunction(s, 'Missing', { entry: 'lambdas/does-not-exist/handler.ts', description: 'x' }),
    ).toThrow(/Cannot find entry file/);
  });
});

describe('ProjectFunction source maps (config sourceMaps)', () => {
  // These two apps bundle the echo fixture with esbuild: the map is a file of the bundle, not a template property.
  const bundled = (sourceMaps: boolean | undefined) => {
    const environments = { dev: sourceMaps === undefined ? {} : { sourceMaps } };
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'project-fn-maps-'));
    const a = new App({ outdir, context: testContext({ environments, 'aws:cdk:bundling-stacks': ['**'] }) });
    const s = new Stack(a, 'Maps');
    // CDK writes "Bundling asset …" straight to stderr; keep the test output quiet.
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const f = (() => {
      try {
        return new ProjectFunction(s, 'Echo', { entry: ENTRY, description: 'echo' });
      } finally {
        stderr.mockRestore();
      }
    })();
    const props = Template.fromStack(s).toJSON().Resources[s.getLogicalId(f.node.defaultChild as never)].Properties;
    const assetDir = path.join(outdir, `asset.${props.Code.S3Key.replace(/\.zip$/, '')}`);
    const files = fs.readdirSync(assetDir).sort();
    fs.rmSync(outdir, { recursive: true, force: true });
    return { files, variables: props.Environment.Variables as Record<string, string> };
  };

  test('on by default: the bundle has index.js.map and Node runs with --enable-source-maps', () => {
    const { files, variables } = bundled(undefined);
    expect(files).toEqual(['index.js', 'index.js.map']);
    expect(variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  test('sourceMaps: false ships no map and leaves NODE_OPTIONS unset', () => {
    const { files, variables } = bundled(false);
    expect(files).toEqual(['index.js']);
    expect(variables.NODE_OPTIONS).toBeUndefined();
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('echo');
  });
});
