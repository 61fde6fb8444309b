/**
 * The steps of `npm run local` up to the batch runs, one function each: services, synth, provision, sample data,
 * arrivals, training and approval. Each prints its progress through {@link Progress} and checks what it produced
 * (local/demo/checks.ts); the batch steps are in local/demo/batches.ts.
 */
import * as path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { setStatus } from '../../cli/commands';
import type { Target } from '../../cli/target';
import { newRunId as runId } from '../../contracts/states/names';
import type { PackageInfo } from '../../lambdas/domain/registry';
import { deliverApprovalEvent } from '../runtime/approval';
import { objectCreatedEvent } from '../runtime/events';
import {
  executeLocal,
  findMachine,
  localHandlerEnv,
  localOutputs,
  outputByKey,
  setLocalResources,
} from '../runtime/executions';
import { type LocalFunction, type LocalResources, resolveResources } from '../runtime/inventory';
import { invokeFunction } from '../runtime/lambda-invoke';
import { provision } from '../runtime/provision';
import { closeRedisClients, useLocalRedis } from '../runtime/redis-clients';
import type { RunResult } from '../runtime/sfn-runner';
import { synthesizeApp } from '../runtime/synth';
import {
  findBinary,
  INSTALL_HINTS,
  type MotoServer,
  type RedisServer,
  startMoto,
  startRedis,
} from '../services/servers';
import { describeTraining, type TrainingSummary } from '../standins/summary';
import { findXgboost, MissingXgboostError } from '../standins/xgboost';
import {
  checkApproval,
  checkTraining,
  type Expected,
  LocalRunError,
  numOf,
  obj,
  type Progress,
  type TrainingFacts,
} from './checks';
import { generateSampleData, type SampleDataSet, type SampleFile, type SamplePhase } from './sample-data';

const ARRIVAL_ENTRY = 'lambdas/functions/arrival/handler.ts';

/** The processes this run started (an external AWS_ENDPOINT_URL / REDIS_URL is used, not started). */
export class LocalServices {
  moto: MotoServer | undefined;
  redis: RedisServer | undefined;

  /** @returns what was stopped (one entry per server this run started), for the Ctrl-C confirmation */
  async stop(): Promise<string[]> {
    closeRedisClients();
    const stopped: string[] = [];
    if (this.redis && !this.redis.external) stopped.push(`redis-server ${this.redis.url} (pid ${this.redis.pid})`);
    if (this.moto && !this.moto.external) stopped.push(`moto_server ${this.moto.endpoint} (pid ${this.moto.pid})`);
    await this.redis?.stop();
    await this.moto?.stop();
    return stopped;
  }
}

/** What step 1 prints and the report shows, and the REDIS_URL the handlers get. */
export interface Endpoints {
  readonly moto: string;
  readonly redis: string;
  readonly redisUrl: string;
}

/** Step 1: moto_server and redis-server (or the in-process stand-in), and the process environment pointing at them. */
export function startServices(
  progress: Progress,
  services: LocalServices,
  options: { readonly redis?: 'auto' | 'standin' },
  outDir: string,
): Promise<Endpoints> {
  return progress.step(
    'Services (moto_server, redis-server)',
    async () => {
      if (!process.env.AWS_ENDPOINT_URL && !findBinary('moto_server')) {
        throw new LocalRunError(`moto_server is not installed. ${INSTALL_HINTS.moto}`);
      }
      // Train and Transform run XGBoost 1.7 on this machine.
      const xgboost = findXgboost();
      if (!xgboost.runtime) throw new LocalRunError(new MissingXgboostError(xgboost.detail).message);
      const moto = await startMoto({ logFile: path.join(outDir, 'moto.log') });
      services.moto = moto;
      let redisUrl: string;
      let redisKind: string;
      const wantStandIn = options.redis === 'standin' || (!process.env.REDIS_URL && !findBinary('redis-server'));
      if (wantStandIn) {
        if (options.redis !== 'standin') {
          progress.print(
            `      ! redis-server not found (${INSTALL_HINTS.redis}); using the in-process stand-in (ioredis-mock)`,
          );
        }
        redisUrl = useLocalRedis('standin')!;
        redisKind = 'in-process stand-in (ioredis-mock)';
      } else {
        useLocalRedis('track');
        const redis = await startRedis({ logFile: path.join(outDir, 'redis.log') });
        services.redis = redis;
        redisUrl = redis.url;
        redisKind = redis.external ? `${redis.url} (external)` : redis.url;
      }
      process.env.AWS_ENDPOINT_URL = moto.endpoint;
      process.env.REDIS_URL = redisUrl;
      process.env.AWS_REGION ??= 'us-east-1';
      process.env.AWS_ACCESS_KEY_ID ??= 'testing';
      process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
      return { moto: moto.external ? `${moto.endpoint} (external)` : moto.endpoint, redis: redisKind, redisUrl };
    },
    (e) => `moto ${e.moto}, redis ${e.redis}`,
  );
}

export interface DemoClients {
  readonly s3: S3Client;
  readonly ddb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sageMaker: SageMakerClient;
  readonly sns: SNSClient;
  readonly sfn: SFNClient;
  /** Publishes the stack outputs where the CLI's --local finds them. */
  readonly cloudFormation: CloudFormationClient;
}

/** The clients of this process and the handlers' environment (also set on this process), once the services run. */
export function localSetup(endpoints: Endpoints, verbose: boolean | undefined) {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const common = { endpoint: process.env.AWS_ENDPOINT_URL, region };
  const ddb = new DynamoDBClient(common);
  const clients: DemoClients = {
    s3: new S3Client({ ...common, forcePathStyle: true }),
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    sageMaker: new SageMakerClient(common),
    sns: new SNSClient(common),
    sfn: new SFNClient(common),
    cloudFormation: new CloudFormationClient(common),
  };
  // Handler environment on top of each function's template environment.
  const env: Record<string, string> = localHandlerEnv({
    endpoint: process.env.AWS_ENDPOINT_URL ?? '',
    redisUrl: endpoints.redisUrl,
    region,
    ...(verbose ? { verbose: true } : {}),
  });
  Object.assign(process.env, env);
  return { region, clients, env };
}

/** Step 2: the CDK app synthesized in-process; its resources shared with the runs and the approval delivery. */
export function synthesize(progress: Progress, envName: string, region: string): Promise<LocalResources> {
  return progress
    .step(
      'Synthesize the CDK app in-process and extract the state machines',
      async () => {
        const app = synthesizeApp({ context: { env: envName } });
        const r = resolveResources(app, { region });
        setLocalResources(envName, r);
        return { resources: r, training: findMachine(r, 'Training'), stacks: app.stacks.length };
      },
      (x) =>
        `${x.stacks} stacks, ${Object.keys(x.resources.functions).length} functions, ${x.resources.stateMachines.length} state machines (${x.resources.stateMachines.map((m) => `${m.name}: ${Object.keys(m.definition.States).length} states`).join(', ')})`,
    )
    .then((x) => x.resources);
}

/** Everything the steps after synth share. */
export interface Demo {
  readonly progress: Progress;
  readonly envName: string;
  readonly region: string;
  readonly clients: DemoClients;
  /** The handlers' environment on top of their template environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly resources: LocalResources;
  readonly featuresBucket: string;
  readonly artifactsBucket: string;
  readonly tableName: string;
}

export function demoOf(
  base: ReturnType<typeof localSetup>,
  progress: Progress,
  envName: string,
  resources: LocalResources,
): Demo {
  return {
    ...base,
    progress,
    envName,
    resources,
    featuresBucket: outputByKey(resources, 'FeaturesBucketName'),
    artifactsBucket: outputByKey(resources, 'ArtifactsBucketName'),
    tableName: outputByKey(resources, 'TableName'),
  };
}

/** Step 3: buckets, table, topics and model package group in moto_server, from the templates. */
export async function provisionAll(demo: Demo): Promise<void> {
  const { s3, ddb, sns, sageMaker, cloudFormation } = demo.clients;
  await demo.progress.step(
    'Provision buckets, table, topics and model package group from the templates',
    () => provision(demo.resources, { s3, dynamodb: ddb, sns, sageMaker, cloudFormation }),
    (p) =>
      `${p.buckets.length} buckets, ${p.tables.length} table(s), ${p.topics.length} topics, ${p.modelPackageGroups.length} model package group(s)${p.existing.length ? `; ${p.existing.length} existed` : ''}`,
  );
  // An external emulator that already ran the pipeline would make the incrementality checks meaningless.
  const leftovers = await s3.send(new ListObjectsV2Command({ Bucket: demo.featuresBucket, MaxKeys: 1 }));
  if ((leftovers.KeyCount ?? 0) > 0) {
    throw new LocalRunError(
      `The features bucket ${demo.featuresBucket} at ${process.env.AWS_ENDPOINT_URL} already holds objects from an earlier run; start a fresh moto_server (or unset AWS_ENDPOINT_URL and let npm run local start one)`,
    );
  }
}

/** Step 4. */
export function sampleData(progress: Progress, customers: number, seed: number): Promise<SampleDataSet> {
  return progress.step(
    `Generate sample data (${customers} customers, seed ${seed})`,
    async () => generateSampleData({ customers, seed }),
    (d) =>
      `${d.files.length} files, ${d.badRows.length} bad rows, churn rate ${(d.churnRate * 100).toFixed(1)}%, achievable AUC ≈ ${d.trueAuc.toFixed(3)}`,
  );
}

/** Uploads a phase's files and registers the inference ones through the real arrival handler, as S3 events would. */
export class Arrivals {
  private sequencer = 0;
  private readonly arrivalFn: LocalFunction;

  constructor(
    private readonly demo: Demo,
    private readonly data: SampleDataSet,
  ) {
    const fn = Object.values(demo.resources.functions).find((f) => f.entry === ARRIVAL_ENTRY);
    if (!fn) throw new LocalRunError(`No function with mlops:entry ${ARRIVAL_ENTRY} in the synthesized app`);
    this.arrivalFn = fn;
  }

  async upload(phase: SamplePhase): Promise<{ files: SampleFile[]; recorded: number }> {
    const { s3 } = this.demo.clients;
    const bucket = this.demo.featuresBucket;
    const files = this.data.files.filter((f) => f.phase === phase);
    let recorded = 0;
    for (const f of files) {
      const put = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body, ContentType: 'text/csv' }),
      );
      if (f.kind !== 'inference') continue;
      this.sequencer++;
      const event = objectCreatedEvent({
        account: this.demo.resources.account,
        region: this.demo.region,
        bucket: this.demo.featuresBucket,
        key: f.key,
        size: Buffer.byteLength(f.body),
        etag: put.ETag ?? '',
        versionId: put.VersionId,
        sequencer: `${Date.now().toString(16).toUpperCase()}${String(this.sequencer).padStart(6, '0')}`,
      });
      const res = obj(await this.invokeArrival(event));
      if (res.recorded !== true)
        throw new LocalRunError(`Arrival handler did not record ${f.key}: ${JSON.stringify(res)}`);
      recorded++;
    }
    return { files, recorded };
  }

  private invokeArrival(event: unknown) {
    const { env, region, resources } = this.demo;
    return invokeFunction(this.arrivalFn, event, { env, region, account: resources.account });
  }
}

/** Step 5. */
export async function initialArrivals(demo: Demo, arrivals: Arrivals): Promise<void> {
  await demo.progress.step(
    'Upload the initial snapshots; register arrivals through the arrival handler',
    () => arrivals.upload('initial'),
    (r) => `${r.files.length} objects uploaded, ${r.recorded} inference objects PENDING in the ledger`,
  );
}

/** Print the top-level states of a run with their durations. */
export function printStates(print: (line: string) => void, run: RunResult): void {
  for (const t of run.steps) {
    if (t.index !== undefined) continue;
    print(
      `      · ${t.state.padEnd(24)} ${(t.durationMs / 1000).toFixed(2)} s${t.status === 'SUCCEEDED' ? '' : ` ${t.status}`}`,
    );
  }
}

/** Step 6: the Training state machine (real handlers, local trainer); a run that registered no model ends the run. */
export async function train(
  demo: Demo,
  customers: number,
  expected: Expected,
  trueAuc: number,
  dataWindow?: { readonly from: string; readonly to: string },
): Promise<TrainingFacts> {
  const { progress, resources, clients, env, region } = demo;
  let validation: TrainingFacts['validation'];
  let trained: TrainingSummary | undefined;
  const run = await progress.step(
    `Training state machine (${findMachine(resources, 'Training').name})`,
    async () => {
      const res = await executeLocal(
        'training',
        { resources, s3: clients.s3, sageMaker: clients.sageMaker, env, region },
        {
          input: {
            trigger: 'local',
            note: `npm run local (${customers} customers)`,
            ...(dataWindow ? { dataWindow: { ...dataWindow } } : {}),
          },
          name: runId('train'),
          onTrained: (i) => {
            validation = i.validation;
            trained = i.summary;
          },
          onEvent: () => undefined,
        },
      );
      printStates(progress.print, res);
      return res;
    },
    (r) => `${r.status} along ${r.path.join(' → ')}`,
  );
  if (run.status !== 'SUCCEEDED') {
    throw new LocalRunError(`Training run ${run.name} ${run.status}: ${run.error?.Error}: ${run.error?.Cause}`);
  }
  const algorithm = trained ? describeTraining(trained, trueAuc) : [];
  for (const line of algorithm) progress.print(`      · ${line}`);
  const output = obj(run.output);
  const last = obj(Object.values(run.stateOutputs).at(-1));
  const prepared = obj(obj(run.stateOutputs.PrepareTrainingData).data);
  const evaluation = obj(obj(run.stateOutputs.EvaluateModel).evaluation ?? last.evaluation);
  const modelVersion = numOf(output.modelVersion) ?? numOf(obj(last.registration).version);
  const metrics = obj(output.metrics ?? evaluation.metrics);
  if (modelVersion === undefined) {
    throw new LocalRunError(
      `Training run ${run.name} registered no model (gate: ${JSON.stringify(evaluation.reasons ?? evaluation)})`,
    );
  }
  const facts = { run, modelVersion, output, prepared, metrics, validation, algorithm };
  checkTraining(progress, expected, facts);
  return facts;
}

export interface ApprovalResult {
  readonly productionVersion: number | undefined;
  readonly detail: string;
}

/**
 * Step 7: approve through the operator's own `approve` command (cli/commands.ts): the registry update, then the
 * registry's state-change event to the real approval handler, as EventBridge would deliver it.
 */
export async function approve(demo: Demo, version: number): Promise<ApprovalResult> {
  const { s3, doc, sageMaker, sfn } = demo.clients;
  const target: Target = {
    mode: 'local',
    envName: demo.envName,
    outputs: localOutputs(demo.resources),
    clients: { s3, doc, sm: sageMaker, sfn },
  };
  const approval = await demo.progress.step(
    `Approve model version ${version} (the CLI's approve code path)`,
    async () => {
      let outcome: unknown;
      const deliver = async (pkg: PackageInfo) => {
        outcome = await deliverApprovalEvent(target, pkg);
      };
      const res = await setStatus(target, version, 'Approved', 'approved by npm run local', deliver);
      return {
        productionVersion: res.productionVersion,
        detail: `${res.previousStatus ?? '-'} → ${res.status}; approval handler: ${String(obj(outcome).action)}; Production is version ${res.productionVersion ?? 'none'}`,
      };
    },
    (a) => a.detail,
  );
  checkApproval(demo.progress, approval, version);
  return approval;
}
