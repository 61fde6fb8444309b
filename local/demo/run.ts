/**
 * `npm run local`: the whole pipeline on this machine (DESIGN §8).
 *
 * services → synth → provision (from the templates) → sample data → arrivals (real arrival handler) → Training
 * (real handlers + local trainer) → approval (the CLI's code path) → BatchInference (real handlers + local
 * transformer) → incrementality (rerun: nothing to score; a new day: only it; a late older day: scored without
 * overwriting newer scores) → summary and `local-run/report.{md,html}` with the result files.
 *
 * Every step prints its progress; any failed step or check ends the run with a non-zero exit code.
 */
import '../runtime/polyfills';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GSI1_NAME, GSI1_PK, ledgerKey, ledgerStatusGsiPk } from '../../contracts/table-keys';
import type { PackageInfo } from '../../lambdas/domain/registry';
import { deliverApprovalEvent, useLocalResources } from '../runtime/approval';
import { executeLocal, findMachine, localHandlerEnv, outputByKey, localRunId as runId } from '../runtime/executions';
import { provision } from '../runtime/provision';
import { closeRedisClients, patchIoredis } from '../runtime/redis-clients';
import type { RunResult, StateTiming } from '../runtime/sfn-runner';
import { type LocalFunction, type LocalResources, resolveResources, synthesizeApp } from '../runtime/template';
import {
  findBinary,
  INSTALL_HINTS,
  type MotoServer,
  type RedisServer,
  startMoto,
  startRedis,
} from '../services/servers';
import { histogram, type RocPoint, rocCurve } from '../standins/metrics';
import { describeTraining, type TrainingSummary } from '../standins/summary';
import { findXgboost, MissingXgboostError } from '../standins/xgboost';
import {
  type LocalRunReport,
  type ReportBatch,
  type ReportCheck,
  type ReportStep,
  renderHtml,
  renderMarkdown,
} from './report';
import { generateSampleData, type SampleDataSet, type SampleFile, type SamplePhase } from './sample-data';

export interface LocalRunOptions {
  /** Customers per snapshot. @default 20000 */
  readonly customers?: number;
  readonly seed?: number;
  /** Environment of cdk.json to synthesize. @default 'dev' */
  readonly env?: string;
  /** Where the report and result files go. @default <repo>/local-run */
  readonly outDir?: string;
  /** Keep the started services running and print their endpoints (for the CLI's --local). @default false */
  readonly keep?: boolean;
  /** `auto`: REDIS_URL, else redis-server, else the in-process stand-in. `standin` forces the stand-in. */
  readonly redis?: 'auto' | 'standin';
  /** Print handler logs (Powertools INFO) and metrics. @default false */
  readonly verbose?: boolean;
  /** Progress output. @default process.stdout */
  readonly print?: (line: string) => void;
}

/** What the run produced (also what the e2e test asserts on). */
export interface LocalRunResult {
  readonly report: LocalRunReport;
  readonly reportFiles: readonly string[];
  readonly data: SampleDataSet;
  readonly resources: LocalResources;
  readonly endpoints: { readonly moto: string; readonly redis: string };
  readonly training: RunResult;
  readonly batches: readonly {
    readonly label: string;
    readonly run: RunResult;
    readonly scoredKeys: readonly string[];
  }[];
  /** Stop the services this run started (already done unless `keep`). */
  readonly stop: () => Promise<void>;
}

/** A failed check or step: the run stops with a non-zero exit code. */
export class LocalRunError extends Error {
  override readonly name = 'LocalRunError';
}

const ARRIVAL_ENTRY = 'lambdas/functions/arrival/handler.ts';
const READ_CORE = '../../lambdas/functions/read-scores/core';
const REDIS_MODULE = '../../lambdas/platform/redis';
const REPO_ROOT = path.resolve(__dirname, '..', '..');

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const numOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function findFunction(resources: LocalResources, entry: string): LocalFunction {
  const fn = Object.values(resources.functions).find((f) => f.entry === entry);
  if (!fn) throw new LocalRunError(`No function with mlops:entry ${entry} in the synthesized app`);
  return fn;
}

/** Parse `--customers N --seed N --env NAME --out DIR --keep --redis standin --verbose`. */
export function parseArgs(argv: readonly string[]): LocalRunOptions {
  const o: {
    customers?: number;
    seed?: number;
    env?: string;
    outDir?: string;
    keep?: boolean;
    redis?: 'auto' | 'standin';
    verbose?: boolean;
  } = {};
  const intArg = (flag: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) {
      throw new LocalRunError(`${flag} needs an integer >= ${min}, got ${v === undefined ? 'nothing' : `"${v}"`}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--customers':
        o.customers = intArg(flag, value(), 10);
        break;
      case '--seed':
        o.seed = intArg(flag, value(), 0);
        break;
      case '--env':
        o.env = value();
        break;
      case '--out':
        o.outDir = value();
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--verbose':
        o.verbose = true;
        break;
      case '--redis': {
        const v = value();
        if (v !== 'auto' && v !== 'standin')
          throw new LocalRunError(`--redis must be auto or standin, got "${v ?? ''}"`);
        o.redis = v;
        break;
      }
      case '--help':
      case '-h':
        throw new LocalRunError(
          'usage: npm run local -- [--customers N (default 20000)] [--seed N] [--env NAME] [--out DIR] [--keep] [--redis auto|standin] [--verbose]',
        );
      default:
        throw new LocalRunError(`unknown option ${a} (see --help)`);
    }
  }
  return o;
}

/** Run the whole local pipeline. Throws LocalRunError (or the step's error) on any failure. */
export async function runLocal(options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const print = options.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const customers = options.customers ?? 20_000;
  const seed = options.seed ?? 42;
  const envName = options.env ?? 'dev';
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'local-run'));
  const t0 = Date.now();
  const steps: ReportStep[] = [];
  const checks: ReportCheck[] = [];
  const TOTAL = 11;
  let stepNo = 0;

  async function step<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    stepNo++;
    print(`[${stepNo}/${TOTAL}] ${name}`);
    const s = Date.now();
    try {
      const r = await fn();
      const ms = Date.now() - s;
      const d = detail?.(r);
      steps.push({ name, ms, ...(d ? { detail: d } : {}) });
      print(`      ✔ ${d ? `${d} ` : ''}(${(ms / 1000).toFixed(2)} s)`);
      return r;
    } catch (e) {
      print(`      ✘ ${name} failed after ${((Date.now() - s) / 1000).toFixed(2)} s`);
      throw e;
    }
  }
  function check(name: string, passed: boolean, detail: string): void {
    checks.push({ name, passed, detail });
    print(`      ${passed ? '✔' : '✘'} check: ${name} — ${detail}`);
    if (!passed) throw new LocalRunError(`Check failed: ${name}: ${detail}`);
  }

  // -- 1. services ---------------------------------------------------------------------------------------------
  let moto: MotoServer | undefined;
  let redis: RedisServer | undefined;
  const stopAll = async () => {
    closeRedisClients();
    await redis?.stop();
    await moto?.stop();
  };
  mkdirSync(outDir, { recursive: true });
  try {
    const endpoints = await step(
      'Services (moto_server, redis-server)',
      async () => {
        if (!process.env.AWS_ENDPOINT_URL && !findBinary('moto_server')) {
          throw new LocalRunError(`moto_server is not installed. ${INSTALL_HINTS.moto}`);
        }
        // Train and Transform run XGBoost 1.7 on this machine.
        const xgboost = findXgboost();
        if (!xgboost.runtime) throw new LocalRunError(new MissingXgboostError(xgboost.detail).message);
        moto = await startMoto({ logFile: path.join(outDir, 'moto.log') });
        let redisUrl: string;
        let redisKind: string;
        const wantStandIn = options.redis === 'standin' || (!process.env.REDIS_URL && !findBinary('redis-server'));
        if (wantStandIn) {
          if (options.redis !== 'standin') {
            print(
              `      ! redis-server not found (${INSTALL_HINTS.redis}); using the in-process stand-in (ioredis-mock)`,
            );
          }
          redisUrl = patchIoredis('standin')!;
          redisKind = 'in-process stand-in (ioredis-mock)';
        } else {
          patchIoredis('track');
          redis = await startRedis({ logFile: path.join(outDir, 'redis.log') });
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
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const common = { endpoint: process.env.AWS_ENDPOINT_URL, region };
    const s3 = new S3Client({ ...common, forcePathStyle: true });
    const ddb = new DynamoDBClient(common);
    const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
    const sageMaker = new SageMakerClient(common);
    const sns = new SNSClient(common);
    const sfn = new SFNClient(common);

    // Handler environment on top of each function's template environment.
    const fnEnv: Record<string, string> = localHandlerEnv({
      endpoint: process.env.AWS_ENDPOINT_URL ?? '',
      redisUrl: endpoints.redisUrl,
      region,
      ...(options.verbose ? { verbose: true } : {}),
    });
    Object.assign(process.env, fnEnv);

    // -- 2. synth ------------------------------------------------------------------------------------------------
    const { resources, training } = await step(
      'Synthesize the CDK app in-process and extract the state machines',
      async () => {
        const app = synthesizeApp({ context: { env: envName } });
        const r = resolveResources(app, { region });
        useLocalResources(envName, r);
        return { resources: r, training: findMachine(r, 'Training'), stacks: app.stacks.length };
      },
      (x) =>
        `${x.stacks} stacks, ${Object.keys(x.resources.functions).length} functions, ${x.resources.stateMachines.length} state machines (${x.resources.stateMachines.map((m) => `${m.name}: ${Object.keys(m.definition.States).length} states`).join(', ')})`,
    );
    const featuresBucket = outputByKey(resources, 'FeaturesBucketName');
    const artifactsBucket = outputByKey(resources, 'ArtifactsBucketName');
    const tableName = outputByKey(resources, 'TableName');

    // -- 3. provision ----------------------------------------------------------------------------------------------
    await step(
      'Provision buckets, table, topics and model package group from the templates',
      () => provision(resources, { s3, dynamodb: ddb, sns, sageMaker }),
      (p) =>
        `${p.buckets.length} buckets, ${p.tables.length} table(s), ${p.topics.length} topics, ${p.modelPackageGroups.length} model package group(s)${p.existing.length ? `; ${p.existing.length} existed` : ''}`,
    );

    // An external emulator that already ran the pipeline would make the incrementality checks meaningless.
    const leftovers = await s3.send(new ListObjectsV2Command({ Bucket: featuresBucket, MaxKeys: 1 }));
    if ((leftovers.KeyCount ?? 0) > 0) {
      throw new LocalRunError(
        `The features bucket ${featuresBucket} at ${process.env.AWS_ENDPOINT_URL} already holds objects from an earlier run; start a fresh moto_server (or unset AWS_ENDPOINT_URL and let npm run local start one)`,
      );
    }

    // -- 4. sample data ----------------------------------------------------------------------------------------------
    const data = await step(
      `Generate sample data (${customers} customers, seed ${seed})`,
      async () => generateSampleData({ customers, seed }),
      (d) =>
        `${d.files.length} files, ${d.badRows.length} bad rows, churn rate ${(d.churnRate * 100).toFixed(1)}%, achievable AUC ≈ ${d.trueAuc.toFixed(3)}`,
    );

    const arrivalFn = findFunction(resources, ARRIVAL_ENTRY);
    let sequencer = 0;
    /** Upload a phase's files and register the inference ones through the real arrival handler. */
    const uploadPhase = async (phase: SamplePhase): Promise<{ files: SampleFile[]; recorded: number }> => {
      const files = data.files.filter((f) => f.phase === phase);
      let recorded = 0;
      for (const f of files) {
        const put = await s3.send(
          new PutObjectCommand({ Bucket: featuresBucket, Key: f.key, Body: f.body, ContentType: 'text/csv' }),
        );
        if (f.kind !== 'inference') continue;
        sequencer++;
        const event = {
          version: '0',
          id: randomUUID(),
          'detail-type': 'Object Created',
          source: 'aws.s3',
          account: resources.account,
          time: new Date().toISOString(),
          region,
          resources: [`arn:aws:s3:::${featuresBucket}`],
          detail: {
            version: '0',
            bucket: { name: featuresBucket },
            object: {
              key: f.key,
              size: Buffer.byteLength(f.body),
              etag: (put.ETag ?? '').replace(/"/g, ''),
              ...(put.VersionId ? { 'version-id': put.VersionId } : {}),
              sequencer: `${Date.now().toString(16).toUpperCase()}${String(sequencer).padStart(6, '0')}`,
            },
            'request-id': randomUUID(),
            requester: resources.account,
            reason: 'PutObject',
          },
        };
        const res = obj(await invokeArrival(event));
        if (res.recorded !== true)
          throw new LocalRunError(`Arrival handler did not record ${f.key}: ${JSON.stringify(res)}`);
        recorded++;
      }
      return { files, recorded };
    };
    const invokeArrival = async (event: unknown) => {
      const { invokeFunction } = await import('../runtime/sfn-runner');
      return invokeFunction(arrivalFn, event, { env: fnEnv, region, account: resources.account });
    };

    // -- 5. initial arrivals -----------------------------------------------------------------------------------------
    await step(
      'Upload the initial snapshots; register arrivals through the arrival handler',
      () => uploadPhase('initial'),
      (r) => `${r.files.length} objects uploaded, ${r.recorded} inference objects PENDING in the ledger`,
    );

    // -- 6. training ---------------------------------------------------------------------------------------------------
    let validation: { scores: readonly number[]; labels: readonly number[] } | undefined;
    let trained: TrainingSummary | undefined;
    const stateLine = (t: StateTiming) => {
      if (t.index === undefined)
        print(
          `      · ${t.state.padEnd(24)} ${(t.durationMs / 1000).toFixed(2)} s${t.status === 'SUCCEEDED' ? '' : ` ${t.status}`}`,
        );
    };
    const trainingRun = await step(
      `Training state machine (${training.name})`,
      async () => {
        const res = await executeLocal(
          'training',
          { resources, s3, sageMaker, env: fnEnv, region },
          {
            input: { trigger: 'local', note: `npm run local (${customers} customers)` },
            name: runId('train'),
            onTrained: (i) => {
              validation = i.validation;
              trained = i.summary;
            },
            onEvent: () => undefined,
          },
        );
        res.steps.filter((s) => s.index === undefined).forEach(stateLine);
        return res;
      },
      (r) => `${r.status} along ${r.path.join(' → ')}`,
    );
    if (trainingRun.status !== 'SUCCEEDED') {
      throw new LocalRunError(
        `Training run ${trainingRun.name} ${trainingRun.status}: ${trainingRun.error?.Error}: ${trainingRun.error?.Cause}`,
      );
    }
    const algorithm = trained ? describeTraining(trained, data.trueAuc) : [];
    for (const line of algorithm) print(`      · ${line}`);
    const tOut = obj(trainingRun.output);
    const tState = obj(Object.values(trainingRun.stateOutputs).at(-1));
    const prepared = obj(obj(trainingRun.stateOutputs.PrepareTrainingData).data);
    const evaluation = obj(obj(trainingRun.stateOutputs.EvaluateModel).evaluation ?? tState.evaluation);
    const modelVersion = numOf(tOut.modelVersion) ?? numOf(obj(tState.registration).version);
    const metrics = obj(tOut.metrics ?? evaluation.metrics);
    if (modelVersion === undefined) {
      throw new LocalRunError(
        `Training run ${trainingRun.name} registered no model (gate: ${JSON.stringify(evaluation.reasons ?? evaluation)})`,
      );
    }
    check(
      'training registered a model version',
      true,
      `version ${modelVersion}, validation AUC ${numOf(metrics.auc)?.toFixed(4)}`,
    );
    check(
      'training rows quarantined = bad training rows',
      numOf(prepared.rowsQuarantined) ===
        data.files.filter((f) => f.kind === 'training').reduce((a, f) => a + f.badRows, 0),
      `${String(prepared.rowsQuarantined)} quarantined of ${String(prepared.rowsIn)} rows`,
    );

    // -- 7. approval --------------------------------------------------------------------------------------------------
    const outputs: Record<string, string> = {};
    for (const [k, v] of Object.entries(resources.outputs))
      if (typeof v === 'string') outputs[k.slice(k.indexOf('.') + 1)] = v;
    const target = { mode: 'local' as const, envName, outputs, clients: { s3, doc, sm: sageMaker, sfn } };
    const approval = await step(
      `Approve model version ${modelVersion} (the CLI's approve code path)`,
      async () => approve(target, modelVersion, print),
      (a) => a.detail,
    );
    check('approved version is Production', approval.productionVersion === modelVersion, approval.detail);

    // -- 8..11. batch runs ----------------------------------------------------------------------------------------------
    const redisClient = await (async () => {
      const { redisFromEnv, ensureConnected } = require(REDIS_MODULE) as typeof import('../../lambdas/platform/redis');
      const r = await redisFromEnv({ role: 'reader' });
      await ensureConnected(r);
      return r;
    })();
    const { readScore } = require(READ_CORE) as typeof import('../../lambdas/functions/read-scores/core');
    const { getScore, getFallbacks } =
      require('../../lambdas/domain/score-store/store') as typeof import('../../lambdas/domain/score-store/store');

    findMachine(resources, 'BatchInference'); // fail before the batch runs when it is missing
    const batches: { label: string; run: RunResult; scoredKeys: string[]; report: ReportBatch }[] = [];
    const allScores: number[] = [];
    const runBatch = async (label: string): Promise<{ run: RunResult; scoredKeys: string[]; report: ReportBatch }> => {
      const res = await executeLocal(
        'batch',
        { resources, s3, sageMaker, env: fnEnv, region },
        {
          input: { trigger: 'local' },
          name: runId('batch'),
          onTransformed: (i) => {
            // A loop, not push(...scores): spreading 100 000+ arguments overflows the call stack.
            for (const score of i.scores) allScores.push(score);
          },
        },
      );
      res.steps.filter((s) => s.index === undefined).forEach(stateLine);
      if (res.status !== 'SUCCEEDED') {
        throw new LocalRunError(
          `BatchInference run ${res.name} ${res.status}: ${res.error?.Error}: ${res.error?.Cause}`,
        );
      }
      // The execution's output is Notify's result alone; the counts come from the states' outputs.
      const state = obj(res.stateOutputs.FinalizeScores ?? res.stateOutputs.CommitLedger ?? res.output);
      const prepared = obj(state.data);
      const finalize = obj(prepared.finalize ?? state.finalize); // FinalizeScores' ResultPath is $.data.finalize
      let scoredKeys: string[] = [];
      const partsUri = strOf(prepared.partsUri);
      if (partsUri) {
        const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(partsUri);
        const body = await s3.send(new GetObjectCommand({ Bucket: m![1]!, Key: m![2]! }));
        const parts = obj(JSON.parse(await body.Body!.transformToString()));
        scoredKeys = [
          ...new Set((Array.isArray(parts.parts) ? parts.parts : []).map((p) => String(obj(p).sourceKey))),
        ].sort();
      }
      const report: ReportBatch = {
        label,
        runId: res.name,
        status: res.status,
        objects: scoredKeys,
        rowsIn: numOf(prepared.rowsIn) ?? 0,
        rowsScored: numOf(finalize.rowsScored) ?? 0,
        rowsQuarantined: numOf(prepared.rowsQuarantined) ?? 0,
        rowsKeptNewer: numOf(finalize.rowsKeptNewer) ?? 0,
        ms: res.durationMs,
        states: res.steps.filter((s) => s.index === undefined).map((s) => ({ state: s.state, ms: s.durationMs })),
      };
      batches.push({ label, run: res, scoredKeys, report });
      return { run: res, scoredKeys, report };
    };
    const pendingCount = async () => {
      const q = await ddb.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: GSI1_NAME,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': GSI1_PK },
          ExpressionAttributeValues: { ':pk': { S: ledgerStatusGsiPk('PENDING') } },
          Select: 'COUNT',
        }),
      );
      return q.Count ?? 0;
    };
    const ledgerStatus = async (key: string) => {
      const k = ledgerKey(key);
      const r = await ddb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: k.pk }, sk: { S: k.sk } } }));
      return r.Item?.status?.S;
    };
    const keysOf = (phase: SamplePhase) =>
      data.files
        .filter((f) => f.phase === phase && f.kind === 'inference')
        .map((f) => f.key)
        .sort();
    const validRows = (phase: SamplePhase) =>
      data.files.filter((f) => f.phase === phase && f.kind === 'inference').reduce((a, f) => a + f.rows - f.badRows, 0);
    const badRowsOf = (phase: SamplePhase) =>
      data.files.filter((f) => f.phase === phase && f.kind === 'inference').reduce((a, f) => a + f.badRows, 0);
    const sameList = (a: readonly string[], b: readonly string[]) =>
      a.length === b.length && a.every((x, i) => x === b[i]);
    const probe = data.customerIds[0]!;

    // 8. first batch
    const first = await step(
      'BatchInference: score the three initial days',
      () => runBatch('initial days'),
      (b) => `${b.report.rowsScored} rows scored, ${b.report.rowsQuarantined} quarantined`,
    );
    check(
      'scored exactly the initial inference objects',
      sameList(first.scoredKeys, keysOf('initial')),
      first.scoredKeys.join(', '),
    );
    check(
      'rows scored = valid rows',
      first.report.rowsScored === validRows('initial'),
      `${first.report.rowsScored} of ${validRows('initial')} expected`,
    );
    check(
      'bad rows quarantined',
      first.report.rowsQuarantined === badRowsOf('initial'),
      `${first.report.rowsQuarantined} rows (expected ${badRowsOf('initial')})`,
    );
    const statuses = await Promise.all(keysOf('initial').map(ledgerStatus));
    check(
      'ledger: initial objects SCORED, none PENDING',
      statuses.every((s) => s === 'SCORED') && (await pendingCount()) === 0,
      statuses.join(','),
    );
    const afterFirst = await getScore(redisClient, probe);
    check(
      'Redis holds the newest initial day for a known customer',
      afterFirst?.asOf === data.inferenceDates.at(-1) && afterFirst?.modelVersion === String(modelVersion),
      JSON.stringify(afterFirst),
    );

    // 9. rerun: nothing to score
    const again = await step(
      'BatchInference again: nothing new to score',
      () => runBatch('rerun'),
      (b) => b.run.path.join(' → '),
    );
    check(
      'rerun scores nothing',
      again.scoredKeys.length === 0 && again.report.rowsScored === 0,
      `path ${again.run.path.join(' → ')}`,
    );
    check(
      'rerun leaves the stored score as it was',
      JSON.stringify(await getScore(redisClient, probe)) === JSON.stringify(afterFirst),
      probe,
    );

    // 10. a new day
    const later = await step(
      `A new day (${data.laterDate}) arrives and is scored alone`,
      async () => {
        await uploadPhase('later');
        return runBatch(`new day ${data.laterDate}`);
      },
      (b) => `${b.report.rowsScored} rows scored from ${b.scoredKeys.length} objects`,
    );
    check('only the new day is scored', sameList(later.scoredKeys, keysOf('later')), later.scoredKeys.join(', '));
    const afterLater = await getScore(redisClient, probe);
    check('newer day replaces the score', afterLater?.asOf === data.laterDate, JSON.stringify(afterLater));

    // 11. a late, older day
    const late = await step(
      `A late, older day (${data.lateDate}) arrives and is scored without overwriting newer scores`,
      async () => {
        await uploadPhase('late');
        return runBatch(`late older day ${data.lateDate}`);
      },
      (b) => `${b.report.rowsScored} rows scored, ${b.report.rowsKeptNewer} kept newer`,
    );
    check('only the late day is scored', sameList(late.scoredKeys, keysOf('late')), late.scoredKeys.join(', '));
    const afterLate = await getScore(redisClient, probe);
    check(
      'late older day does not overwrite newer scores',
      JSON.stringify(afterLate) === JSON.stringify(afterLater),
      JSON.stringify(afterLate),
    );
    const knownInLate = validRows('late') - data.lateOnlyIds.length;
    check(
      'rows kept newer = known customers in the late day',
      late.report.rowsKeptNewer === knownInLate,
      `${late.report.rowsKeptNewer} (expected ${knownInLate})`,
    );
    const lateOnly = await getScore(redisClient, data.lateOnlyIds[0]!);
    check(
      'a customer seen only in the late day gets its score',
      lateOnly?.asOf === data.lateDate,
      JSON.stringify(lateOnly),
    );

    // -- summary -----------------------------------------------------------------------------------------------------
    const unknownId = 'NEW-CUSTOMER-0001';
    const reads = [
      { id: probe, expected: 'known id → model score', result: await readScore(redisClient, probe) },
      { id: unknownId, expected: 'unknown id → global fallback', result: await readScore(redisClient, unknownId) },
      {
        id: unknownId,
        expected: 'unknown id, segment premium → segment fallback',
        result: await readScore(redisClient, unknownId, 'premium'),
      },
    ];
    check('known id reads the model score', reads[0]!.result.source === 'model', JSON.stringify(reads[0]!.result));
    check('unknown id reads a fallback', reads[1]!.result.source === 'fallback', JSON.stringify(reads[1]!.result));
    const fallback = await getFallbacks(redisClient, 'premium');

    const resultFiles = await copyArtifacts(s3, artifactsBucket, outDir, ['results/', 'reports/', 'quarantine/']);
    const roc: RocPoint[] = validation ? rocCurve(validation.scores, validation.labels) : [];
    const totalMs = Date.now() - t0;
    const report: LocalRunReport = {
      generatedAt: new Date().toISOString(),
      customers,
      seed,
      totalMs,
      services: { moto: endpoints.moto, redis: endpoints.redis },
      steps,
      training: {
        runId: trainingRun.name,
        status: trainingRun.status,
        auc: numOf(metrics.auc),
        logloss: numOf(metrics.logloss),
        trainRows: numOf(prepared.trainRows),
        validationRows: numOf(prepared.validationRows),
        rowsQuarantined: numOf(prepared.rowsQuarantined),
        modelVersion,
        modelPackageArn: strOf(tOut.modelPackageArn),
        algorithm,
        states: trainingRun.steps
          .filter((s) => s.index === undefined)
          .map((s) => ({ state: s.state, ms: s.durationMs })),
      },
      approval: { version: modelVersion, productionVersion: approval.productionVersion, detail: approval.detail },
      batches: batches.map((b) => b.report),
      checks,
      reads,
      fallback,
      roc,
      histogram: histogram(allScores, 20),
      resultFiles,
    };
    const mdFile = path.join(outDir, 'report.md');
    const htmlFile = path.join(outDir, 'report.html');
    writeFileSync(mdFile, renderMarkdown(report));
    writeFileSync(htmlFile, renderHtml(report));
    writeFileSync(path.join(outDir, 'report.json'), `${JSON.stringify({ ...report, roc: undefined }, null, 2)}\n`);

    printSummary(print, report, [mdFile, htmlFile], outDir);
    redisClient.disconnect();
    if (options.keep) {
      print('');
      print('Services kept running (--keep). In another terminal, e.g.:');
      print(
        `  AWS_ENDPOINT_URL=${process.env.AWS_ENDPOINT_URL} REDIS_URL=${endpoints.redisUrl} npx mlops-batch models --local`,
      );
      if (!redis) print('  (Redis is the in-process stand-in: only this process sees the scores)');
    } else {
      await stopAll();
    }
    return {
      report,
      reportFiles: [mdFile, htmlFile],
      data,
      resources,
      endpoints: { moto: process.env.AWS_ENDPOINT_URL ?? '', redis: endpoints.redisUrl },
      training: trainingRun,
      batches: batches.map(({ label, run, scoredKeys }) => ({ label, run, scoredKeys })),
      stop: stopAll,
    };
  } catch (e) {
    if (!options.keep) await stopAll().catch(() => undefined);
    throw e;
  }
}

interface ApprovalResult {
  readonly productionVersion: number | undefined;
  readonly detail: string;
}

/** Structural view of `cli/commands.ts` setStatus (loaded at run time so this module does not depend on the CLI). */
type SetStatus = (
  target: unknown,
  version: number,
  status: 'Approved' | 'Rejected',
  reason: string | undefined,
  deliver?: (pkg: PackageInfo) => Promise<unknown>,
) => Promise<{ productionVersion: number | undefined; previousStatus?: string; status: string }>;

/** Approve through the CLI's `approve` code path: registry update, then the approval event to the real handler. */
async function approve(
  target: { envName: string; outputs: Record<string, string> },
  version: number,
  print: (l: string) => void,
): Promise<ApprovalResult> {
  let outcome: unknown;
  const deliver = async (pkg: PackageInfo) => {
    outcome = await deliverApprovalEvent(target, pkg);
  };
  let setStatus: SetStatus | undefined;
  try {
    setStatus = (require('../../cli/commands') as { setStatus?: SetStatus }).setStatus;
  } catch {
    setStatus = undefined;
  }
  const reason = 'approved by npm run local';
  if (setStatus) {
    const res = await setStatus(target, version, 'Approved', reason, deliver);
    const o = obj(outcome);
    return {
      productionVersion: res.productionVersion,
      detail: `${res.previousStatus ?? '-'} → ${res.status}; approval handler: ${String(o.action)}; Production is version ${res.productionVersion ?? 'none'}`,
    };
  }
  // The CLI module is not there: same two steps through the registry core.
  print('      ! cli/commands.ts not found; approving through the registry core directly');
  const reg = require('../../lambdas/domain/registry') as typeof import('../../lambdas/domain/registry');
  const { SageMakerClient: SM } = require('@aws-sdk/client-sagemaker') as typeof import('@aws-sdk/client-sagemaker');
  const sm = new SM({ endpoint: process.env.AWS_ENDPOINT_URL, region: process.env.AWS_REGION });
  const group = target.outputs.ModelPackageGroupName ?? '';
  const pkg = await reg.findPackageByVersion(sm, group, version);
  const updated = await reg.updateApprovalStatus(sm, pkg.arn, 'Approved', reason);
  await deliver(updated);
  const production = await reg.findProductionPackage(sm, group);
  return {
    productionVersion: production?.version,
    detail: `${pkg.status ?? '-'} → Approved; approval handler: ${String(obj(outcome).action)}; Production is version ${production?.version ?? 'none'}`,
  };
}

async function copyArtifacts(
  s3: S3Client,
  bucket: string,
  outDir: string,
  prefixes: readonly string[],
): Promise<string[]> {
  const base = path.join(outDir, 'artifacts');
  rmSync(base, { recursive: true, force: true });
  const files: string[] = [];
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
        const file = path.join(base, o.Key);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, Buffer.from(await body.Body!.transformToByteArray()));
        files.push(path.relative(outDir, file));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return files;
}

function printSummary(print: (l: string) => void, r: LocalRunReport, files: readonly string[], outDir: string): void {
  const t = r.training;
  print('');
  print('Summary');
  print(
    `  model version ${t.modelVersion} · validation AUC ${t.auc?.toFixed(4)} · logloss ${t.logloss?.toFixed(4)} · ${r.approval.detail}`,
  );
  for (const line of t.algorithm ?? []) print(`  ${line}`);
  for (const b of r.batches) {
    print(
      `  ${b.label.padEnd(26)} ${String(b.objects.length).padStart(2)} objects · ${String(b.rowsScored).padStart(6)} scored · ${String(b.rowsQuarantined).padStart(3)} quarantined · ${String(b.rowsKeptNewer).padStart(5)} kept newer · ${(b.ms / 1000).toFixed(2)} s`,
    );
  }
  for (const x of r.reads) print(`  read ${x.id} (${x.expected}): ${JSON.stringify(x.result)}`);
  print(`  checks: ${r.checks.filter((c) => c.passed).length}/${r.checks.length} passed`);
  print(`  total ${(r.totalMs / 1000).toFixed(1)} s`);
  for (const f of files) print(`  report: ${path.relative(process.cwd(), f) || f}`);
  print(
    `  result files: ${r.resultFiles.length} under ${path.relative(process.cwd(), path.join(outDir, 'artifacts')) || outDir}`,
  );
}

/** CLI entry (`npm run local`, `mlops-batch local`): returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's "node >= 22 from 2027" notice is not about this run; keep the progress output readable.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    const options = parseArgs(argv);
    const result = await runLocal(options);
    if (options.keep) {
      // The servers belong to this process (they are stopped when it exits): wait for Ctrl-C.
      process.stdout.write('Press Ctrl-C to stop the services.\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await result.stop();
    }
    return 0;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(
      `\nnpm run local failed: ${err.name === 'LocalRunError' ? '' : `${err.name}: `}${err.message}\n`,
    );
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
