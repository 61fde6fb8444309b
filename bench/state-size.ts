/**
 * The size of the BatchInference execution's state for a run of N parts: the synthesized definition runs on the local
 * runtime (Distributed Map included, local/runtime/distributed-map.ts) with every Task state replaced by a stand-in
 * whose output has the shape the real function returns — PrepareInferenceData's result is built by the real
 * `toPreparedData` and its manifests by the real writer (`putJson`), each LoadPart returns a loader result with its
 * per-segment sums, and FinalizeScores reads the Map's results back from S3 with the real `readMapResults` and
 * reduces them with the real `finalizeScores`. What is measured is the largest state (JSON bytes) after any top-level
 * state, against Step Functions' 256 KB limit.
 *
 * The same run's payloads in the previous design (the part list and every part's load result inline in the state)
 * are rebuilt from the same objects for the side-by-side figure.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { batchKeys, partName, s3Uri } from '../contracts/s3-layout';
import { BatchState as S } from '../contracts/states/names';
import type { ScoreStore } from '../lambdas/domain/score-store/store';
import { finalizeScores } from '../lambdas/functions/finalize-scores/core';
import { PartLoadSchema } from '../lambdas/functions/finalize-scores/handler';
import { readMapResults } from '../lambdas/functions/finalize-scores/map-results';
import type { LoadScoresOutput } from '../lambdas/functions/load-scores/core';
import { type PrepareInferenceDataResult, toPreparedData } from '../lambdas/functions/prepare-inference-data/core';
import { putJson } from '../lambdas/platform/s3';
import type { AslDefinition } from '../local/runtime/inventory';
import { runStateMachine } from '../local/runtime/sfn-runner';
import type { StateOverride } from '../local/runtime/task-handlers';

/** Step Functions' limit on a state's input/output (and the execution's state). */
export const STATE_LIMIT_BYTES = 256 * 1024;

export interface StateSizeResult {
  readonly parts: number;
  readonly status: string;
  /** Error and cause when the run failed. */
  readonly error?: string;
  /** Largest state after any top-level state (JSON bytes). */
  readonly maxStateBytes: number;
  /** The state that produced it. */
  readonly largestAfter: string;
  /** The same run's largest state in the previous design (part list and per-part results inline). */
  readonly inlineDesignBytes: number;
  /** Rows FinalizeScores reconciled (a check that every part's result was read back). */
  readonly rowsScored: number;
}

const SEGMENTS = ['basic', 'standard', 'premium', 'family', 'business'];
const ROWS_PER_PART = 100_000;

/** A loader result as load-scores returns it, for part `i`. */
function loadResult(input: { resultKey: string; part: string; asOf: string; expectedRows: number }): LoadScoresOutput {
  const rows = input.expectedRows;
  const per = Math.floor(rows / SEGMENTS.length);
  const segments = Object.fromEntries(SEGMENTS.map((s) => [s, { count: per, sum: per * 0.234567 }]));
  return {
    resultKey: input.resultKey,
    part: input.part,
    asOf: input.asOf,
    rowsRead: rows,
    rowsApplied: rows - 17,
    rowsKeptNewer: 17,
    segments,
    sum: rows * 0.234567,
    count: rows,
  };
}

/** The data core's result for `parts` parts, one per object, plus a tenth as many quarantined objects. */
function prepared(runId: string, bucket: string, parts: number): PrepareInferenceDataResult {
  const list = Array.from({ length: parts }, (_, i) => ({
    part: partName(i + 1),
    asOf: `2026-11-${String((i % 28) + 1).padStart(2, '0')}`,
    rows: ROWS_PER_PART,
    sources: [
      {
        key: `inference/dt=2026-11-${String((i % 28) + 1).padStart(2, '0')}/file-${String(i).padStart(6, '0')}.csv`,
        etag: `"${i.toString(16).padStart(32, '0')}"`,
        rows: ROWS_PER_PART,
      },
    ],
  }));
  const rows = parts * ROWS_PER_PART;
  const keys = batchKeys(runId);
  return {
    runId,
    contractVersion: '1.0.0',
    specRunId: 'train-20261101T000000Z-abcd',
    manifestUri: s3Uri(bucket, keys.manifest),
    partsUri: s3Uri(bucket, keys.parts),
    loadItemsKey: keys.loadItems,
    inputPrefixUri: s3Uri(bucket, keys.inputPrefix),
    parts: list,
    rowsIn: rows + parts,
    rowsUsed: rows,
    rowsQuarantined: parts,
    expectedRows: rows,
    quarantinedObjects: Array.from({ length: Math.ceil(parts / 10) }, (_, i) => `inference/dt=2026-11-01/bad-${i}.csv`),
    validationReportUri: s3Uri(bucket, `reports/${runId}/validation.json`),
    statsUri: s3Uri(bucket, `reports/${runId}/stats.json`),
    drift: { tenure_months: 0.01, monthly_charges: 0.02, plan: 0.03 },
  };
}

/** Fallback and meta writes accepted; FinalizeScores' reduction is what is exercised. */
const acceptingStore = {
  writeRunSummary: async () => ({ fallbacks: { applied: 6, keptNewer: 0 }, meta: { applied: 1, keptNewer: 0 } }),
  getMetaLatest: async () => undefined,
} as unknown as ScoreStore;

/** Names of every Task state, Map processors included. */
function taskStates(def: { States?: Record<string, Record<string, unknown>> }, out: string[] = []): string[] {
  for (const [name, st] of Object.entries(def.States ?? {})) {
    if (st.Type === 'Task') out.push(name);
    if (st.ItemProcessor) taskStates(st.ItemProcessor as typeof def, out);
  }
  return out;
}

/** Run the definition for a run of `parts` parts and measure its state. */
export async function measureStateSize(p: {
  readonly definition: AslDefinition;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly parts: number;
  readonly endpoint: string;
}): Promise<StateSizeResult> {
  const runId = `batch-20261201T020000Z-${p.parts.toString(36).padStart(4, '0')}`;
  const data = prepared(runId, p.bucket, p.parts);
  const objects = data.parts.map((x, i) => ({
    key: x.sources[0]!.key,
    etag: x.sources[0]!.etag,
    size: 10_000_000 + i,
  }));
  const model = {
    modelVersion: 3,
    modelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/mlops-batch-dev/3',
    modelName: 'mlops-batch-dev-v3',
    trainingRunId: 'train-20261101T000000Z-abcd',
    preprocessingUri: s3Uri(p.bucket, 'training/train-20261101T000000Z-abcd/preprocessing.json'),
    created: false,
  };
  let rowsScored = 0;
  const overrides: Record<string, StateOverride> = {
    [S.AcquireLock]: async () => ({ runId, acquired: true, trigger: 'bench', leaseExpiresAt: 1_900_000_000 }),
    [S.FindUnscored]: async () => ({
      count: objects.length,
      truncated: false,
      objectsUri: await putJson(p.s3, p.bucket, batchKeys(runId).objects, objects),
    }),
    [S.ResolveModel]: async () => model,
    // One prepare task per 10 objects (the PrepareTasks Map's items are in S3; its result is discarded).
    [S.PlanPrepare]: async () => {
      const tasks = Math.ceil(objects.length / 10);
      const items = Array.from({ length: tasks }, (_, task) => ({ task, slice: 0, slices: 1 }));
      const tasksKey = batchKeys(runId).prepareTasks;
      await putJson(p.s3, p.bucket, tasksKey, items);
      return { bucket: p.bucket, tasksKey, tasks };
    },
    [S.PrepareSlice]: async (input) => {
      const task = (input as { task: number }).task;
      return { task, partialKey: batchKeys(runId).preparePartial(task), rowsIn: 0, rowsValid: 0, parts: 0 };
    },
    [S.PrepareInferenceData]: async () => {
      await putJson(p.s3, p.bucket, batchKeys(runId).parts, {
        runId,
        parts: data.parts,
        quarantinedObjects: data.quarantinedObjects,
      });
      await putJson(
        p.s3,
        p.bucket,
        data.loadItemsKey,
        data.parts.map(({ part, asOf, rows }) => ({ part, asOf, rows })),
      );
      return toPreparedData(data, { runId, namePrefix: 'mlops-batch-dev', artifactsBucket: p.bucket, modelVersion: 3 });
    },
    [S.Transform]: async (input) => ({
      TransformJobName: (input as { TransformJobName: string }).TransformJobName,
      TransformJobStatus: 'Completed',
    }),
    [S.LoadPart]: async (input) => loadResult(input as Parameters<typeof loadResult>[0]),
    [S.FinalizeScores]: async (input) => {
      const i = input as {
        runId: string;
        modelVersion: number;
        expectedRows: number;
        loadResults: { Bucket: string; Key: string };
      };
      const loads = PartLoadSchema.array().parse(await readMapResults(p.s3, i.loadResults));
      const out = await finalizeScores(acceptingStore, { ...i, modelVersion: String(i.modelVersion), loads });
      rowsScored = out.rowsScored;
      return out;
    },
    [S.CommitLedger]: async () => ({
      committed: objects.length - data.quarantinedObjects.length,
      skipped: [],
      skippedCount: 0,
      summary: {
        outcome: 'SCORED',
        modelVersion: 3,
        objects: objects.length,
        objectsQuarantined: data.quarantinedObjects.length,
        rowsIn: data.rowsIn,
        rowsUsed: data.rowsUsed,
        rowsQuarantined: data.rowsQuarantined,
        rowsLoaded: data.expectedRows,
        truncated: false,
        validationReportUri: data.validationReportUri,
      },
    }),
    [S.ReleaseLock]: async () => ({ released: true }),
    [S.Notify]: async () => ({ runId, status: 'SUCCEEDED', messageId: 'bench' }),
  };
  // States off this run's path (failure path, no-work exit) must not run: reaching one fails the measurement.
  for (const name of taskStates(p.definition)) {
    overrides[name] ??= async () => {
      throw new Error(`state-size: ${name} is off the success path`);
    };
  }
  const res = await runStateMachine({
    definition: p.definition,
    overrides,
    input: { trigger: 'bench' },
    name: runId,
    env: { AWS_ENDPOINT_URL: p.endpoint },
  });
  let maxStateBytes = 0;
  let largestAfter = '';
  let lastState: unknown;
  for (const [state, output] of Object.entries(res.stateOutputs)) {
    const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
    if (bytes > maxStateBytes) {
      maxStateBytes = bytes;
      largestAfter = state;
    }
    if (state === S.FinalizeScores) lastState = output;
  }
  // The previous design carried `data.parts` and the Map's array of per-part results in the same state.
  const inline = {
    ...(lastState as Record<string, unknown>),
    data: {
      ...((lastState as { data?: object })?.data ?? {}),
      parts: data.parts.map(({ part, asOf, rows }) => ({ part, asOf, rows })),
      quarantinedObjects: data.quarantinedObjects,
    },
    work: { count: objects.length, truncated: false, objects: objects.length <= 50 ? objects : undefined },
    load: data.parts.map((x) =>
      loadResult({
        resultKey: `results/model_version=3/run=${runId}/${x.part}.out`,
        part: x.part,
        asOf: x.asOf,
        expectedRows: x.rows,
      }),
    ),
  };
  return {
    parts: p.parts,
    status: res.status,
    ...(res.error ? { error: `${res.error.Error}: ${res.error.Cause}` } : {}),
    maxStateBytes,
    largestAfter,
    inlineDesignBytes: Buffer.byteLength(JSON.stringify(inline)),
    rowsScored,
  };
}
