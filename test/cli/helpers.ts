/**
 * Helpers of the CLI tests: the synthesized app provisioned in moto_server exactly as `npm run local` does, and
 * `mlops-batch --local --json …` run in-process with its stdout/stderr captured.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { outputByKey, setLocalResources } from '../../local/runtime/executions';
import { type LocalResources, resolveResources } from '../../local/runtime/inventory';
import { provision } from '../../local/runtime/provision';
import { synthesizeApp } from '../../local/runtime/synth';

// `bin/mlops-batch.js` (the npx launcher) sits next to the TypeScript module: name the .ts file explicitly.
export const { main } = require('../../bin/mlops-batch.ts') as typeof import('../../bin/mlops-batch');

const ENV = 'dev';
const REGION = process.env.AWS_REGION ?? 'us-east-1';

// Synthesized once per test file (jest gives each file its own module registry).
let synthesized: LocalResources | undefined;
export function resources(): LocalResources {
  if (!synthesized) {
    synthesized = resolveResources(synthesizeApp({ context: { env: ENV } }), { region: REGION });
    setLocalResources(ENV, synthesized); // the CLI's --local target and the approval delivery reuse it
  }
  return synthesized;
}

export interface Clients {
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sm: SageMakerClient;
  readonly sns: SNSClient;
  readonly cfn: CloudFormationClient;
}

export function clients(endpoint: string): Clients {
  const common = { endpoint, region: REGION };
  const ddb = new DynamoDBClient(common);
  return {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    sm: new SageMakerClient(common),
    sns: new SNSClient(common),
    cfn: new CloudFormationClient(common),
  };
}

/**
 * Synthesize (once) and provision the app's buckets, table, topics and model package group in this moto, with the
 * stack outputs published where the CLI's --local finds them (as `npm run local` does).
 */
export async function setUp(endpoint: string) {
  const r = resources();
  const c = clients(endpoint);
  await provision(r, { s3: c.s3, dynamodb: c.ddb, sns: c.sns, sageMaker: c.sm, cloudFormation: c.cfn });
  return {
    c,
    table: outputByKey(r, 'TableName'),
    group: outputByKey(r, 'ModelPackageGroupName'),
    features: outputByKey(r, 'FeaturesBucketName'),
    artifacts: outputByKey(r, 'ArtifactsBucketName'),
  };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (with --json, whenever stdout is not empty). */
  readonly json: unknown;
}

/** `mlops-batch --local --json <args>` in-process, stdout/stderr captured. */
export function cli(...args: string[]): Promise<CliResult> {
  return run(['--local', '--json', ...args]);
}

/** `mlops-batch --local <args>` (the human output). */
export function cliText(...args: string[]): Promise<CliResult> {
  return run(['--local', ...args]);
}

async function run(argv: string[]): Promise<CliResult> {
  const json = argv.includes('--json');
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  let code: number;
  try {
    code = await main(argv);
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
  return {
    code,
    stdout,
    stderr,
    // With --json stdout must be exactly one JSON document, also when the command failed (a failed run's summary).
    json: json && stdout.trim() ? (JSON.parse(stdout) as unknown) : undefined,
  };
}

/** One-line failure: exit code, nothing on stdout, exactly one line on stderr. */
export function expectFailure(r: CliResult, code: number, message: RegExp): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

export async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export type Row = Record<string, unknown>;
export const rows = (v: unknown): Row[] => v as Row[];
