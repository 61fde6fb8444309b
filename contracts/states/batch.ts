import { z } from 'zod';
import { S3UriSchema as s3Uri } from '../s3-layout';
import { runIdProblem } from './names';

/**
 * Shapes that travel between the states of the BatchInference state machine. Every handler parses its input with
 * these schemas (lambdas/platform/state-input.ts) so a wiring mistake fails with a message naming the field, not deep
 * inside the core.
 *
 * State object of one execution (each key is the ResultPath of one state):
 * - `run`      AcquireLock      {@link LockResult}
 * - `work`     FindUnscored     {@link Work}
 * - `model`    ResolveModel     {@link ResolvedModel}
 * - `data`     PrepareInferenceData {@link PreparedData}
 * - `transform` Transform       `{ jobName, status }`
 * - `load`     LoadScores       {@link MapRunResult}: where the Distributed Map wrote the per-part results (S3)
 * - `data.finalize` FinalizeScores finalize-scores result (replaces the `null` PrepareInferenceData puts there; stays
 *   `null` when `HasRows?` skipped the transform because every object was quarantined — a Parameters path must
 *   exist, so CommitLedger reads `$.data.finalize` on both routes)
 * - `commit`   CommitLedger     {@link CommitResult}; `commit.continuation` ({@link Continuation}) when the backlog
 *   continues in a new execution (StartContinuation)
 * - `error`    any Catch        `{ Error, Cause }`
 */

/** Run id = the Step Functions execution name (1..80 characters, the rules of {@link runIdProblem}). */
export const RunIdSchema = z.string().superRefine((v, ctx) => {
  const problem = runIdProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: `run id ${problem}` });
});

/**
 * One feature object this run scores: a PENDING ledger item, or a SCORED one due again for the Production version
 * (`scoredBy` = the run that scored it before; the commit replaces only that run's record).
 */
export const LedgerObjectSchema = z.object({
  key: z.string().min(1),
  etag: z.string().min(1),
  size: z.number().int().nonnegative(),
  scoredBy: z.string().min(1).optional(),
});
export type LedgerObject = z.infer<typeof LedgerObjectSchema>;

/** AcquireLock's result. `acquired: false` = another run holds the lock; the machine exits via `AlreadyRunning`. */
export const LockResultSchema = z.object({
  runId: RunIdSchema,
  acquired: z.boolean(),
  trigger: z.string(),
  /** Owner of the lock when it was not acquired. */
  heldBy: z.string().optional(),
  /** Epoch seconds when the lease ends (when acquired). */
  leaseExpiresAt: z.number().int().optional(),
});
export type LockResult = z.infer<typeof LockResultSchema>;

/**
 * FindUnscored's result. The object list is written to S3 (`objectsUri`, `batch/<runId>/objects.json`) and only its
 * URI travels, so the execution's state is the same size for 1 object or 10 000. `objects` (inline) is still read
 * when present, for payloads written before the list moved to S3.
 */
export const WorkSchema = z
  .object({
    count: z.number().int().nonnegative(),
    /** More PENDING objects exist than one run takes (MAX_OBJECTS_PER_RUN); a continuation run takes them. */
    truncated: z.boolean(),
    objects: z.array(LedgerObjectSchema).optional(),
    objectsUri: s3Uri.optional(),
  })
  .refine((w) => w.count === 0 || w.objects !== undefined || w.objectsUri !== undefined, {
    message: 'work with count > 0 needs objects or objectsUri',
  })
  .refine((w) => w.objects === undefined || w.objects.length === w.count, {
    message: 'work.count must equal objects.length',
  });
export type Work = z.infer<typeof WorkSchema>;

/** ResolveModel's result: the Production model and the SageMaker Model created for it. */
export const ResolvedModelSchema = z.object({
  modelVersion: z.number().int().positive(),
  modelPackageArn: z.string().min(1),
  /** SageMaker Model name `<namePrefix>-v<version>` (what the Transform state runs). */
  modelName: z.string().min(1),
  /** Training run that produced the model. */
  trainingRunId: z.string().optional(),
  /** `s3://…/training/<runId>/preprocessing.json`: the encoding the model was trained with. */
  preprocessingUri: s3Uri,
  /** false when the Model already existed (an earlier run or a retry created it). */
  created: z.boolean(),
});
export type ResolvedModel = z.infer<typeof ResolvedModelSchema>;

/** PlanPrepare's result (`$.plan`): where the prepare tasks are (the PrepareTasks Distributed Map's ItemReader). */
export const PreparePlanSchema = z.object({
  /** Artifacts bucket. */
  bucket: z.string().min(3),
  /** `batch/<runId>/prepare-tasks.json`: a JSON array, one item per prepare task. */
  tasksKey: z.string().min(1),
  tasks: z.number().int().positive(),
});
export type PreparePlan = z.infer<typeof PreparePlanSchema>;

/** One item of `prepare-tasks.json` as the PrepareTasks Map's ItemSelector reads it (the rest is read by the task). */
export const PrepareTaskItemSchema = z.object({
  /** 0-based task index. */
  task: z.number().int().nonnegative(),
});

/** PrepareSlice's input (the PrepareTasks Map's ItemSelector): the run, the task and the model's spec. */
export const PrepareSliceInputSchema = z.object({
  runId: RunIdSchema,
  task: z.number().int().nonnegative(),
  preprocessingUri: z.string().regex(/^s3:\/\/.+/),
});
export type PrepareSliceInput = z.infer<typeof PrepareSliceInputSchema>;

/** PrepareSlice's result: constant in size (the partial result is in S3 at `partialKey`). */
export const PrepareSliceResultSchema = z.object({
  task: z.number().int().nonnegative(),
  partialKey: z.string().min(1),
  rowsIn: z.number().int().nonnegative(),
  rowsValid: z.number().int().nonnegative(),
  parts: z.number().int().nonnegative(),
});
export type PrepareSliceResult = z.infer<typeof PrepareSliceResultSchema>;

/** One transform input part: one item of `batch/<runId>/load-items.json`, which the LoadScores Distributed Map reads. */
export const PreparedPartSchema = z.object({
  /** File name of the part, e.g. `part-00001.csv`. */
  part: z.string().min(1),
  /** as_of date of the part's rows (YYYY-MM-DD). */
  asOf: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** Rows sent to the transform from this part. */
  rows: z.number().int().nonnegative(),
});
export type PreparedPart = z.infer<typeof PreparedPartSchema>;

/** PrepareInferenceData's result: what Transform, LoadScores and CommitLedger need. */
export const PreparedDataSchema = z.object({
  /** Deterministic transform job name derived from the run id. */
  transformJobName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
  manifestUri: s3Uri,
  partsUri: s3Uri,
  /** Transform output prefix `s3://<artifacts>/results/model_version=<N>/run=<runId>/`. */
  outputUri: s3Uri,
  /** Bucket holding the results (the artifacts bucket). */
  resultsBucket: z.string().min(3),
  /**
   * Key prefix of the results, `results/model_version=<N>/run=<runId>/`; the output of part `p` is
   * `<resultsPrefix><p>.out` (SageMaker appends `.out` to the input file name). Kept out of each part so the
   * state stays small.
   */
  resultsPrefix: z.string().endsWith('/'),
  /** Transform input parts (the list is in `parts.json` and `load-items.json`, not in the state). */
  partCount: z.number().int().nonnegative(),
  /** Key (artifacts bucket) of `load-items.json`, the JSON array of {@link PreparedPart} LoadScores iterates. */
  loadItemsKey: z.string().min(1),
  rowsIn: z.number().int().nonnegative(),
  rowsUsed: z.number().int().nonnegative(),
  rowsQuarantined: z.number().int().nonnegative(),
  expectedRows: z.number().int().nonnegative(),
  /**
   * Objects none of whose rows are usable (file-level failure or every row rejected): ledger → QUARANTINED. Only the
   * count travels; the keys are `quarantinedObjects` of `parts.json` (partsUri).
   */
  objectsQuarantined: z.number().int().nonnegative(),
  validationReportUri: s3Uri,
  /** Largest population stability index over the features (drift against the training statistics). */
  maxDriftPsi: z.number().nonnegative(),
  /**
   * Placeholder for FinalizeScores' result (its ResultPath is `$.data.finalize`). Left `null` when there is no row to
   * score (`expectedRows` 0): `HasRows?` then goes straight to CommitLedger, which reads `null` as "nothing loaded".
   */
  finalize: z.null(),
});
export type PreparedData = z.infer<typeof PreparedDataSchema>;

/**
 * Where a Distributed Map with a ResultWriter put its results (`$.load.ResultWriterDetails`): the key of its
 * `manifest.json`, which lists the `SUCCEEDED_<n>.json` / `FAILED_<n>.json` files.
 */
export const ResultWriterDetailsSchema = z.object({ Bucket: z.string().min(3), Key: z.string().min(1) });
export type ResultWriterDetails = z.infer<typeof ResultWriterDetailsSchema>;

/** Output of the LoadScores Distributed Map (ResultWriter set): a map run and where its results are; never the results. */
export const MapRunResultSchema = z.object({
  MapRunArn: z.string().min(1),
  ResultWriterDetails: ResultWriterDetailsSchema,
});
export type MapRunResult = z.infer<typeof MapRunResultSchema>;

/** Step Functions' error object put at `$.error` by every Catch. */
export const StepErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type StepError = z.infer<typeof StepErrorSchema>;

/**
 * Counts summed over a chain of runs: a truncated run (more objects due than `batch.maxObjectsPerRun`) starts the
 * next one until the backlog is empty, and each run's summary carries what the chain has done so far.
 */
export const ChainTotalsSchema = z.object({
  objects: z.number().int().nonnegative(),
  objectsQuarantined: z.number().int().nonnegative(),
  rowsIn: z.number().int().nonnegative(),
  rowsUsed: z.number().int().nonnegative(),
  rowsQuarantined: z.number().int().nonnegative(),
  rowsLoaded: z.number().int().nonnegative(),
});
export type ChainTotals = z.infer<typeof ChainTotalsSchema>;

/** Counts of a successful run (CommitLedger's output, Notify's input). */
export const RunSummarySchema = z.object({
  /**
   * `SCORED`, or `ALL_QUARANTINED` when no object had a usable row (no transform ran; every object is QUARANTINED and
   * needs an operator). Absent in summaries written before outcomes existed (read as `SCORED`).
   */
  outcome: z.enum(['SCORED', 'ALL_QUARANTINED']).optional(),
  modelVersion: z.number().int().positive(),
  objects: z.number().int().nonnegative(),
  /** Objects with no usable row, marked QUARANTINED. */
  objectsQuarantined: z.number().int().nonnegative().default(0),
  rowsIn: z.number().int().nonnegative(),
  rowsUsed: z.number().int().nonnegative(),
  rowsQuarantined: z.number().int().nonnegative(),
  rowsLoaded: z.number().int().nonnegative(),
  /** More objects were pending than one run takes. */
  truncated: z.boolean().optional(),
  /** The run's validation report (why rows or objects were quarantined). */
  validationReportUri: z.string().min(1).optional(),
  /**
   * Runs of this backlog's chain so far, this one included (1 for a run that continued no other). Absent in summaries
   * written before runs continued each other.
   */
  iterations: z.number().int().positive().optional(),
  /** The counts summed over the chain's runs, this one included ({@link ChainTotals}). */
  totals: ChainTotalsSchema.optional(),
  /** The run this one continues (a truncated run started it). */
  continuedFrom: RunIdSchema.optional(),
  /** The run this one started to continue the backlog (`work.truncated`); absent when the backlog is empty. */
  continuesAs: RunIdSchema.optional(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

/**
 * The `chain` field of a continuation run's execution input: where the chain started, how many runs it has had and
 * their totals, so the continuation's commit can add its own.
 */
export const ChainSchema = z.object({
  /** The first run of the chain. */
  head: RunIdSchema,
  /** The run that started this one. */
  previous: RunIdSchema,
  /** Runs of the chain before this one (>= 1). */
  iterations: z.number().int().positive(),
  totals: ChainTotalsSchema,
});
export type Chain = z.infer<typeof ChainSchema>;

/** Execution input of a continuation run (what `StartContinuation` passes). */
export const ContinuationInputSchema = z.object({ trigger: z.literal('continuation'), chain: ChainSchema });
export type ContinuationInput = z.infer<typeof ContinuationInputSchema>;

/**
 * CommitLedger's `continuation` (`$.commit.continuation`), set only when the run was truncated, made progress and the
 * chain is under `batch.maxRunsPerChain`: `ReleaseLock → MoreWork?` then starts the same state machine with it.
 */
export const ContinuationSchema = z.object({ name: RunIdSchema, input: ContinuationInputSchema });
export type Continuation = z.infer<typeof ContinuationSchema>;
