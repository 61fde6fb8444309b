/**
 * Fixture for the fault suite: the synthesized app (bin/app.ts), its BatchInference definition, provisioned local
 * resources, a trained preprocessing spec and registered model versions, feature snapshots, and a `Transform`
 * stand-in — all run through `local/runtime/sfn-runner.ts` with the real handlers.
 *
 * The data helpers (`featureValues`, `snapshot`, `ids`) and the transform stand-in follow
 * test/statemachines/batch-inference.test.ts, whose versions are private to that file (copied, not imported).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchState as S } from '../../../contracts/states/names';
import { contractColumns } from '../../../lambdas/data/contract';
import { createModelPackage } from '../../../lambdas/domain/registry';
import { prepareTrainingData } from '../../../lambdas/functions/prepare-training-data/core';
import { objectCreatedEvent } from '../../../local/runtime/events';
import {
  type AslDefinition,
  extractDefinition,
  type LocalFunction,
  type LocalResources,
  resolveResources,
} from '../../../local/runtime/inventory';
import { invokeFunction } from '../../../local/runtime/lambda-invoke';
import { provision } from '../../../local/runtime/provision';
import { type RunResult, runStateMachine } from '../../../local/runtime/sfn-runner';
import { type SynthesizedApp, synthesizeApp } from '../../../local/runtime/synth';
import type { StateOverride } from '../../../local/runtime/task-handlers';
import { devContextWithBatch } from '../../support/app-context';
import { testClients } from '../../support/aws';
import { contract, featureValues, parseUri, writeTransformOutputs } from '../../support/batch-fixtures';

export { contract, featureValues, parseUri };

/** A CSV in the contract's column order (header + one row per id). `edit` may change any row's fields. */
export function snapshot(
  mode: 'training' | 'inference',
  dt: string,
  entityIds: readonly string[],
  edit?: (i: number, row: Record<string, string>) => void,
): string {
  const header = contractColumns(contract, mode);
  const lines = [header.join(',')];
  entityIds.forEach((id, i) => {
    const v: Record<string, string> = {
      customer_id: id,
      as_of: dt,
      churned: i % 3 === 0 ? '1' : '0',
      ...featureValues(i),
    };
    edit?.(i, v);
    lines.push(header.map((c) => v[c] ?? '').join(','));
  });
  return `${lines.join('\n')}\n`;
}

export const ids = (prefix: string, n: number, from = 0): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);

export interface TransformRequest {
  TransformJobName: string;
  ModelName: string;
  TransformInput: { DataSource: { S3DataSource: { S3DataType: string; S3Uri: string } } };
  TransformOutput: { S3OutputPath: string };
}

/** Result lines of one part, before they are written (`id,segment,score`); return them changed to inject faults. */
export type OutputMutator = (part: string, lines: string[]) => string[];

let synthesized: { app: SynthesizedApp; definition: AslDefinition } | undefined;
/** The app as `cdk synth` builds it, synthesized once per test file. */
export function batchDefinition(): { app: SynthesizedApp; definition: AslDefinition } {
  synthesized ??= (() => {
    // One part (or more) per object, as the per-part faults are written (coalescing: prepare-parts.test.ts).
    const app = synthesizeApp({ context: devContextWithBatch({ coalesceRows: 0 }) });
    return { app, definition: extractDefinition(app, 'WorkflowStateMachine') };
  })();
  return synthesized;
}

export interface PipelineOptions {
  /** Endpoint the handlers use (moto, or a fault proxy in front of it). */
  readonly handlerEndpoint: string;
  /** Endpoint the test's own clients use (moto directly). */
  readonly motoEndpoint: string;
  readonly redisUrl: string;
}

export class Pipeline {
  readonly resources: LocalResources;
  readonly definition: AslDefinition;
  readonly s3: S3Client;
  readonly doc: DynamoDBDocumentClient;
  readonly sm: SageMakerClient;
  readonly featuresBucket: string;
  readonly artifactsBucket: string;
  readonly table: string;
  readonly group: string;
  readonly transformCalls: TransformRequest[] = [];
  /** Preprocessing spec of the training run (every registered version reuses it). */
  preprocessingUri = '';
  statsUri = '';

  constructor(private readonly opts: PipelineOptions) {
    const { app, definition } = batchDefinition();
    this.definition = definition;
    this.resources = resolveResources(app);
    const c = testClients(opts.motoEndpoint);
    this.s3 = c.s3;
    this.doc = c.doc;
    this.sm = c.sageMaker;
    const prepare = this.fn('lambdas/functions/prepare-inference-data/handler.ts');
    this.featuresBucket = prepare.environment.FEATURES_BUCKET!;
    this.artifactsBucket = prepare.environment.ARTIFACTS_BUCKET!;
    this.table = this.fn('lambdas/functions/acquire-lock/handler.ts').environment.TABLE_NAME!;
    this.group = this.fn('lambdas/functions/resolve-model/handler.ts').environment.MODEL_PACKAGE_GROUP_NAME!;
  }

  /** Environment every handler runs with. */
  get env(): Record<string, string> {
    return { AWS_ENDPOINT_URL: this.opts.handlerEndpoint, REDIS_URL: this.opts.redisUrl };
  }

  fn(entry: string): LocalFunction {
    const f = Object.values(this.resources.functions).find((x) => x.entry === entry);
    if (!f) throw new Error(`${entry} not found in the synthesized app`);
    return f;
  }

  /** Invoke a function of the app (by entry) like Lambda, with the pipeline's environment. */
  invoke(entry: string, event: unknown): Promise<unknown> {
    return invokeFunction(this.fn(entry), event, { env: this.env });
  }

  /** Create buckets, table, topics and the package group, and prepare a training set (its spec is reused). */
  async provision(): Promise<void> {
    const common = { endpoint: this.opts.motoEndpoint, region: process.env.AWS_REGION ?? 'us-east-1' };
    await provision(this.resources, {
      s3: this.s3,
      dynamodb: new DynamoDBClient(common),
      sns: new SNSClient(common),
      sageMaker: this.sm,
    });
    const key = 'training/dt=2026-10-31/part-0.csv';
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.featuresBucket,
        Key: key,
        Body: snapshot('training', '2026-10-31', ids('T', 300)),
      }),
    );
    const trained = await prepareTrainingData({
      s3: this.s3,
      contract,
      bucket: this.featuresBucket,
      artifactsBucket: this.artifactsBucket,
      keys: [key],
      runId: 'train-1',
      validationShare: 0.2,
      maxInvalidRowRatio: 0.05,
      maxReportedViolations: 100,
    });
    this.preprocessingUri = trained.preprocessingUri;
    this.statsUri = trained.statsUri;
  }

  /** Register a model version (PendingManualApproval) trained by `runId`; returns its ARN. */
  async registerModel(runId: string, auc = 0.81): Promise<string> {
    const pkg = await createModelPackage(this.sm, {
      groupName: this.group,
      runId,
      codeVersion: 'test',
      dataWindow: '2026-10-31..2026-10-31',
      imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      modelDataUrl: `s3://${this.artifactsBucket}/training/${runId}/model/model.tar.gz`,
      preprocessingUri: this.preprocessingUri,
      trainingStatsUri: this.statsUri,
      evaluationReportUri: `s3://${this.artifactsBucket}/reports/${runId}/evaluation.json`,
      metrics: { auc },
      transformInstanceTypes: ['ml.m5.large'],
    });
    return pkg.arn;
  }

  async text(uri: string): Promise<string> {
    const res = await this.s3.send(new GetObjectCommand(parseUri(uri)));
    return (await res.Body?.transformToString('utf-8')) ?? '';
  }

  /** `Transform` stand-in: honours the manifest, writes `<part>.out` rows `id,segment,score` per input row. */
  transform(mutate?: OutputMutator): StateOverride {
    return async (input) => {
      const req = input as TransformRequest;
      this.transformCalls.push(req);
      // The score depends on the model version, so a test can tell which version scored a row.
      const version = Number(/-v(\d+)$/.exec(req.ModelName)?.[1] ?? '0');
      await writeTransformOutputs(
        this.s3,
        req.TransformInput.DataSource.S3DataSource.S3Uri,
        req.TransformOutput.S3OutputPath,
        (features) => 1 / (1 + Math.exp(-(features.reduce((x, y) => x + y, 0) / 1000 - 1 + version / 10))),
        mutate,
      );
      return { TransformJobName: req.TransformJobName, TransformJobStatus: 'Completed', ModelName: req.ModelName };
    };
  }

  /** Run the BatchInference state machine with the real handlers. */
  run(name: string, overrides: Record<string, StateOverride> = {}, mutate?: OutputMutator): Promise<RunResult> {
    return runStateMachine({
      definition: this.definition,
      functions: this.resources.functions,
      overrides: { [S.Transform]: this.transform(mutate), ...overrides },
      input: { trigger: 'test' },
      name,
      env: this.env,
    });
  }

  /** The real LoadPart handler (for wrapping overrides). */
  loadPart(input: unknown): Promise<unknown> {
    return this.invoke('lambdas/functions/load-scores/handler.ts', input);
  }

  /** Upload an object; returns its ETag. */
  async put(key: string, body: string | Buffer): Promise<string> {
    const put = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.featuresBucket,
        Key: key,
        Body: body,
        ContentLength: Buffer.byteLength(body),
      }),
    );
    return put.ETag!;
  }

  /** The EventBridge "Object Created" event S3 emits for `key`. */
  objectCreated(key: string, etag: string, size: number, sequencer: string): Record<string, unknown> {
    return objectCreatedEvent({
      account: '123456789012',
      region: 'us-east-1',
      bucket: this.featuresBucket,
      key,
      size,
      etag,
      sequencer,
      id: `evt-${sequencer}`,
    });
  }

  /** Upload and deliver the arrival event to the real arrival handler (what S3 → EventBridge → arrival does). */
  async arrive(key: string, body: string | Buffer, sequencer = Date.now().toString(16).padStart(16, '0')) {
    const etag = await this.put(key, body);
    const event = this.objectCreated(key, etag, Buffer.byteLength(body), sequencer);
    const res = await this.invoke('lambdas/functions/arrival/handler.ts', event);
    return { etag, event, res };
  }
}

export const FAILURE_PATH = [S.RecordFailure, S.ReleaseLockAfterFailure, S.Alert, S.Fail];
export const SUCCESS_PATH = [
  S.AcquireLock,
  S.LockAcquired,
  S.FindUnscored,
  S.HasWork,
  S.ResolveModel,
  S.PlanPrepare,
  S.PrepareTasks,
  S.PrepareInferenceData,
  S.HasRows,
  S.Transform,
  S.LoadScores,
  S.FinalizeScores,
  S.CommitLedger,
  S.ReleaseLock,
  S.MoreWork,
  S.Notify,
];
