/**
 * What `npm run local` checks after each step, read back from S3, DynamoDB and Redis, and how steps and checks are
 * printed and recorded for the report. Any failed check ends the run (LocalRunError, non-zero exit code).
 */
import { type DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GSI1_NAME, GSI1_PK, ledgerKey, ledgerStatusGsiPk } from '../../contracts/table-keys';
import { RedisScoreStore } from '../../lambdas/domain/score-store/redis';
import { readScore } from '../../lambdas/functions/read-scores/core';
import type { RedisClient } from '../../lambdas/platform/redis';
import type { RunResult } from '../runtime/sfn-runner';
import type { ReportBatch, ReportCheck, ReportRead, ReportStep } from './report';
import type { SampleDataSet, SamplePhase } from './sample-data';

/** A failed check or step: the run stops with a non-zero exit code. */
export class LocalRunError extends Error {
  override readonly name = 'LocalRunError';
}

type Json = Record<string, unknown>;
export const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
export const numOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
export const strOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Numbered steps (`[n/total] name`, then ✔ or ✘ with the time) and checks, printed as they happen and recorded. */
export class Progress {
  readonly steps: ReportStep[] = [];
  readonly checks: ReportCheck[] = [];
  private stepNo = 0;

  constructor(
    readonly print: (line: string) => void,
    private readonly total: number,
  ) {}

  async step<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    this.stepNo++;
    this.print(`[${this.stepNo}/${this.total}] ${name}`);
    const s = Date.now();
    try {
      const r = await fn();
      const ms = Date.now() - s;
      const d = detail?.(r);
      this.steps.push({ name, ms, ...(d ? { detail: d } : {}) });
      this.print(`      ✔ ${d ? `${d} ` : ''}(${(ms / 1000).toFixed(2)} s)`);
      return r;
    } catch (e) {
      this.print(`      ✘ ${name} failed after ${((Date.now() - s) / 1000).toFixed(2)} s`);
      throw e;
    }
  }

  check(name: string, passed: boolean, detail: string): void {
    this.checks.push({ name, passed, detail });
    this.print(`      ${passed ? '✔' : '✘'} check: ${name} — ${detail}`);
    if (!passed) throw new LocalRunError(`Check failed: ${name}: ${detail}`);
  }
}

/** The sample data's expectations per phase: which inference objects, how many valid and bad rows. */
export class Expected {
  constructor(readonly data: SampleDataSet) {}

  private inference(phase: SamplePhase) {
    return this.data.files.filter((f) => f.phase === phase && f.kind === 'inference');
  }
  keysOf(phase: SamplePhase): string[] {
    return this.inference(phase)
      .map((f) => f.key)
      .sort();
  }
  validRows(phase: SamplePhase): number {
    return this.inference(phase).reduce((a, f) => a + f.rows - f.badRows, 0);
  }
  badRowsOf(phase: SamplePhase): number {
    return this.inference(phase).reduce((a, f) => a + f.badRows, 0);
  }
  badTrainingRows(): number {
    return this.data.files.filter((f) => f.kind === 'training').reduce((a, f) => a + f.badRows, 0);
  }
}

/** Where the checks read the pipeline's state back: the ledger in DynamoDB, the score store in Redis. */
export class Observed {
  constructor(
    private readonly ddb: DynamoDBClient,
    private readonly tableName: string,
    readonly redis: RedisClient,
  ) {}

  async pendingCount(): Promise<number> {
    const q = await this.ddb.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: GSI1_NAME,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': GSI1_PK },
        ExpressionAttributeValues: { ':pk': { S: ledgerStatusGsiPk('PENDING') } },
        Select: 'COUNT',
      }),
    );
    return q.Count ?? 0;
  }
  async ledgerStatus(key: string): Promise<string | undefined> {
    const k = ledgerKey(key);
    const r = await this.ddb.send(
      new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: k.pk }, sk: { S: k.sk } } }),
    );
    return r.Item?.status?.S;
  }
  score(id: string) {
    return new RedisScoreStore(this.redis).getScore(id);
  }
  read(id: string, segment?: string) {
    return readScore(new RedisScoreStore(this.redis), id, segment);
  }
  fallbacks(segment: string) {
    return new RedisScoreStore(this.redis).getFallbacks(segment);
  }
}

/** What a batch run produced, as the checks and the report see it. */
export interface DemoBatch {
  readonly label: string;
  readonly run: RunResult;
  readonly scoredKeys: string[];
  readonly report: ReportBatch;
}

/** The facts of the training run the checks and the report read. */
export interface TrainingFacts {
  readonly run: RunResult;
  readonly modelVersion: number;
  /** The execution's output. */
  readonly output: Json;
  /** PrepareTrainingData's counts (rows in, train/validation rows, quarantined). */
  readonly prepared: Json;
  readonly metrics: Json;
  readonly validation: { readonly scores: readonly number[]; readonly labels: readonly number[] } | undefined;
  /** Algorithm, version, hyperparameters, rounds and AUCs of the trained model, one line each. */
  readonly algorithm: readonly string[];
}

export function checkTraining(progress: Progress, expected: Expected, t: TrainingFacts): void {
  progress.check(
    'training registered a model version',
    true,
    `version ${t.modelVersion}, validation AUC ${numOf(t.metrics.auc)?.toFixed(4)}`,
  );
  progress.check(
    'training rows quarantined = bad training rows',
    numOf(t.prepared.rowsQuarantined) === expected.badTrainingRows(),
    `${String(t.prepared.rowsQuarantined)} quarantined of ${String(t.prepared.rowsIn)} rows`,
  );
}

export function checkApproval(
  progress: Progress,
  approval: { readonly productionVersion: number | undefined; readonly detail: string },
  modelVersion: number,
): void {
  progress.check('approved version is Production', approval.productionVersion === modelVersion, approval.detail);
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** What the checks of the batch steps share. */
export interface BatchChecks {
  readonly progress: Progress;
  readonly expected: Expected;
  readonly observed: Observed;
  /** A customer of every snapshot: its stored score shows which day won. */
  readonly probe: string;
}

/** @returns the probe's stored score after the initial days */
export async function checkInitialDays(c: BatchChecks, first: DemoBatch, modelVersion: number) {
  const { progress, expected: x, observed } = c;
  progress.check(
    'scored exactly the initial inference objects',
    sameList(first.scoredKeys, x.keysOf('initial')),
    first.scoredKeys.join(', '),
  );
  progress.check(
    'rows scored = valid rows',
    first.report.rowsScored === x.validRows('initial'),
    `${first.report.rowsScored} of ${x.validRows('initial')} expected`,
  );
  progress.check(
    'bad rows quarantined',
    first.report.rowsQuarantined === x.badRowsOf('initial'),
    `${first.report.rowsQuarantined} rows (expected ${x.badRowsOf('initial')})`,
  );
  const statuses = await Promise.all(x.keysOf('initial').map((k) => observed.ledgerStatus(k)));
  progress.check(
    'ledger: initial objects SCORED, none PENDING',
    statuses.every((s) => s === 'SCORED') && (await observed.pendingCount()) === 0,
    statuses.join(','),
  );
  const afterFirst = await observed.score(c.probe);
  progress.check(
    'Redis holds the newest initial day for a known customer',
    afterFirst?.asOf === x.data.inferenceDates.at(-1) && afterFirst?.modelVersion === String(modelVersion),
    JSON.stringify(afterFirst),
  );
  return afterFirst;
}

export async function checkRerun(c: BatchChecks, again: DemoBatch, afterFirst: unknown): Promise<void> {
  c.progress.check(
    'rerun scores nothing',
    again.scoredKeys.length === 0 && again.report.rowsScored === 0,
    `path ${again.run.path.join(' → ')}`,
  );
  c.progress.check(
    'rerun leaves the stored score as it was',
    JSON.stringify(await c.observed.score(c.probe)) === JSON.stringify(afterFirst),
    c.probe,
  );
}

/** @returns the probe's stored score after the new day */
export async function checkNewDay(c: BatchChecks, later: DemoBatch) {
  c.progress.check(
    'only the new day is scored',
    sameList(later.scoredKeys, c.expected.keysOf('later')),
    later.scoredKeys.join(', '),
  );
  const afterLater = await c.observed.score(c.probe);
  c.progress.check(
    'newer day replaces the score',
    afterLater?.asOf === c.expected.data.laterDate,
    JSON.stringify(afterLater),
  );
  return afterLater;
}

export async function checkLateDay(c: BatchChecks, late: DemoBatch, afterLater: unknown): Promise<void> {
  const { progress, expected: x, observed } = c;
  progress.check(
    'only the late day is scored',
    sameList(late.scoredKeys, x.keysOf('late')),
    late.scoredKeys.join(', '),
  );
  const afterLate = await observed.score(c.probe);
  progress.check(
    'late older day does not overwrite newer scores',
    JSON.stringify(afterLate) === JSON.stringify(afterLater),
    JSON.stringify(afterLate),
  );
  const knownInLate = x.validRows('late') - x.data.lateOnlyIds.length;
  progress.check(
    'rows kept newer = known customers in the late day',
    late.report.rowsKeptNewer === knownInLate,
    `${late.report.rowsKeptNewer} (expected ${knownInLate})`,
  );
  const lateOnly = await observed.score(x.data.lateOnlyIds[0]!);
  progress.check(
    'a customer seen only in the late day gets its score',
    lateOnly?.asOf === x.data.lateDate,
    JSON.stringify(lateOnly),
  );
}

/** Reads as the API answers them: a known id, an unknown id (global fallback), an unknown id with a segment. */
export async function checkReads(c: BatchChecks): Promise<ReportRead[]> {
  const unknownId = 'NEW-CUSTOMER-0001';
  const reads = [
    { id: c.probe, expected: 'known id → model score', result: await c.observed.read(c.probe) },
    { id: unknownId, expected: 'unknown id → global fallback', result: await c.observed.read(unknownId) },
    {
      id: unknownId,
      expected: 'unknown id, segment premium → segment fallback',
      result: await c.observed.read(unknownId, 'premium'),
    },
  ];
  c.progress.check(
    'known id reads the model score',
    reads[0]!.result.source === 'model',
    JSON.stringify(reads[0]!.result),
  );
  c.progress.check(
    'unknown id reads a fallback',
    reads[1]!.result.source === 'fallback',
    JSON.stringify(reads[1]!.result),
  );
  return reads;
}
