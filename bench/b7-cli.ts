/**
 * B7 CLI start-up: wall time of `mlops-batch` commands (node bin/mlops-batch.js, as npx runs it, without npx's own
 * start-up) against a moto_server provisioned from the synthesized app — `--help`, and the read-only `--local runs`,
 * `--local models` and `--local runs show` — side by side with `aws dynamodb scan` of the same table in the same
 * moto (the AWS CLI: another process that starts an SDK and makes one call). Interleaved, median of N.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createRun } from '../lambdas/domain/tracking';
import { outputByKey } from '../local/runtime/executions';
import { resolveResources } from '../local/runtime/inventory';
import { provision } from '../local/runtime/provision';
import { synthesizeApp } from '../local/runtime/synth';
import { findBinary } from '../local/services/servers';
import { type BenchEnv, type BenchResult, fixed, median, ratio, runChild, type Table } from './lib';

interface Case {
  readonly label: string;
  readonly command: string;
  readonly args: readonly string[];
}

export async function runB7(env: BenchEnv): Promise<BenchResult> {
  const region = process.env.AWS_REGION || 'us-east-1';
  const common = {
    endpoint: env.motoEndpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  };
  env.log('B7: synthesize and provision the app in moto (outputs published)');
  const resources = resolveResources(synthesizeApp({ context: { env: 'dev' } }), { region });
  const ddb = new DynamoDBClient(common);
  const clients = {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    dynamodb: ddb,
    sns: new SNSClient(common),
    sageMaker: new SageMakerClient(common),
    cloudFormation: new CloudFormationClient(common),
  };
  await provision(resources, clients);
  const table = outputByKey(resources, 'TableName');
  const doc = DynamoDBDocumentClient.from(ddb);
  for (let i = 0; i < 20; i++) {
    await createRun(doc, table, {
      runId: `batch-20261101T0000${String(i).padStart(2, '0')}Z-b6b6`,
      kind: 'batch',
      trigger: 'bench',
      codeVersion: 'bench',
    });
  }
  const childEnv = {
    ...process.env,
    AWS_ENDPOINT_URL: env.motoEndpoint,
    REDIS_URL: env.redisUrl,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
  const cli = (label: string, ...args: string[]): Case => ({
    label,
    command: 'node',
    args: ['bin/mlops-batch.js', ...args],
  });
  const cases: Case[] = [
    cli('mlops-batch --help', '--help'),
    cli('mlops-batch --local runs', '--local', 'runs'),
    cli('mlops-batch --local models', '--local', 'models'),
    cli('mlops-batch --local runs show <id>', '--local', 'runs', 'show', 'batch-20261101T000000Z-b6b6'),
  ];
  const reference: Case | undefined = findBinary('aws')
    ? {
        label: 'aws dynamodb scan (reference)',
        command: 'aws',
        args: [
          '--endpoint-url',
          env.motoEndpoint,
          '--region',
          region,
          'dynamodb',
          'scan',
          '--table-name',
          table,
          '--max-items',
          '20',
        ],
      }
    : undefined;
  const all = reference ? [reference, ...cases] : cases;
  const repeats = env.quick ? 3 : 7;
  const times = new Map<string, number[]>(all.map((c) => [c.label, []]));
  const failures: string[] = [];
  for (let i = 0; i < repeats; i++) {
    for (const c of all) {
      const r = await runChild(c.command, c.args, { cwd: env.root, env: childEnv, timeoutMs: 120_000 });
      if (r.code !== 0) failures.push(`${c.label}: exit ${r.code}: ${r.tail.split('\n').slice(-3).join(' ')}`);
      times.get(c.label)!.push(r.wallMs);
    }
  }
  for (const c of Object.values(clients)) c.destroy();
  const ref = reference ? median(times.get(reference.label)!) : Number.NaN;
  const rows = all.map((c) => {
    const m = median(times.get(c.label)!);
    return [c.label, fixed(m / 1000, 2), ratio(m / ref)];
  });
  const out: Table = {
    title: `B7 CLI start-up against moto (median of ${repeats}, interleaved)`,
    columns: ['command', 'seconds', 'vs aws dynamodb scan'],
    rows,
  };
  return {
    id: 'B7',
    title: 'CLI start-up',
    tables: [out],
    notes: [
      "Targets: a read-only --local command under 1.5 s, --help under 0.5 s. `npx mlops-batch` adds npx's own start-up (about 0.7 s here) on top.",
      'Read-only --local commands find the resources in the stack outputs the local runtime published in moto (one DescribeStacks); they no longer synthesize the app.',
      ...(reference ? [] : ['The AWS CLI (`aws`) is not installed: no reference column.']),
      ...failures.slice(0, 5),
    ],
    data: Object.fromEntries([...times].map(([k, v]) => [k, { medianMs: median(v), runsMs: v }])),
  };
}
