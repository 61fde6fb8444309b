import { z } from 'zod';
import { AucComparisonSchema, ModelSummarySchema } from '../evaluation';
import { S3UriSchema as s3UriSchema } from '../s3-layout';
import { runIdProblem } from './names';

/**
 * Shapes that travel between the states of the Training state machine (lib/constructs/training-workflow.ts). Every
 * handler parses its input with these schemas, so a wiring mistake fails with a message naming the field.
 *
 * Execution input (every field optional): {@link TrainingExecutionInputSchema}.
 * State object of one execution (each key is the ResultPath of one state):
 * - `run`          StartRun             {@link RunInfo}
 * - `data`         PrepareTrainingData  {@link PreparedTrainingData}
 * - `training`     Train                {@link TrainingJob} (DescribeTrainingJob output)
 * - `plan`         PrepareEvaluation    {@link EvaluationPlan}
 * - `scoring`      ScoreValidation      {@link Scoring} (both transforms of the validation channel, in parallel)
 * - `evaluation`   EvaluateModel        {@link Evaluation}
 * - `registration` RegisterModel        {@link Registration}
 * - `notification` NotifyApprovers      `{ messageId }`
 * - `error`        any Catch            `{ Error, Cause }`
 *
 * Output of a successful execution: the CompleteRun result {@link CompletedRun}.
 */

/** Run id = the Step Functions execution name (1..80 characters, the rules of {@link runIdProblem}). */
export const RunIdSchema = z.string().superRefine((v, ctx) => {
  const problem = runIdProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: `run id ${problem}` });
});

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine(
    (d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    {
      message: 'a valid calendar date',
    },
  );

/** Training partitions to use: `dt` from..to inclusive; a missing bound is open. */
export const DataWindowInputSchema = z
  .object({ from: isoDate.optional(), to: isoDate.optional() })
  .strict()
  .refine((w) => !w.from || !w.to || w.from <= w.to, { message: 'dataWindow.from must be <= dataWindow.to' });

/** Execution input of the Training state machine (`mlops-batch train`, the pipeline's post-deploy step, the console). */
export const TrainingExecutionInputSchema = z
  .object({
    /** Who or what started the run (`cli`, `pipeline`, `console`, …). @default 'manual' */
    trigger: z.string().min(1).max(64).optional(),
    /** Partitions to train on. @default - every `training/dt=…/` partition of the features bucket */
    dataWindow: DataWindowInputSchema.optional(),
    /** Free-form note kept on the run record. */
    note: z.string().max(1024).optional(),
  })
  .strict();
export type TrainingExecutionInput = z.infer<typeof TrainingExecutionInputSchema>;

/** The data window a run resolved: the partitions it trains on. */
export const DataWindowSchema = z.object({
  from: isoDate,
  to: isoDate,
  /** `dt` values of the partitions inside the window, ascending. */
  partitions: z.array(isoDate).min(1),
});
export type DataWindow = z.infer<typeof DataWindowSchema>;

/** StartRun's result (`$.run`). */
export const RunInfoSchema = z.object({
  runId: RunIdSchema,
  startedAt: z.string().min(1),
  trigger: z.string(),
  codeVersion: z.string(),
  dataWindow: DataWindowSchema,
  /** SageMaker training job name derived from the run id (valid job-name characters, <= 63). */
  trainingJobName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
  /** `s3://<artifacts>/training/<runId>/model/` (SageMaker appends `<job>/output/model.tar.gz`). */
  modelOutputUri: s3UriSchema,
  /** `s3://<artifacts>/training/<runId>/checkpoints/` (managed spot resumes from here). */
  checkpointUri: s3UriSchema,
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

/**
 * PlanTrainingData's result (`$.data` until PrepareTrainingData replaces it): where the tasks file of the
 * ProfileTrainingData / EncodeTrainingData Distributed Maps is, and how many tasks it holds.
 */
export const TrainingPlanSchema = z.object({
  bucket: z.string().min(1),
  tasksKey: z.string().min(1),
  tasks: z.number().int().positive(),
  objects: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
});
export type TrainingPlanPayload = z.infer<typeof TrainingPlanSchema>;

/** One item of those Maps (ItemSelector): the run and one task of the tasks file. */
export const TrainingTaskItemSchema = z.object({
  runId: RunIdSchema,
  task: z.number().int().positive(),
  keys: z.array(z.string().min(1)).min(1),
});

/** What a ProfileTask / EncodeTask returns (the partial itself is in S3). */
export const TrainingTaskResultSchema = z.object({
  task: z.number().int().positive(),
  trainRows: z.number().int().nonnegative(),
  validationRows: z.number().int().nonnegative(),
});

/** BuildPreprocessingSpec's result (`$.data.spec`). */
export const TrainingSpecSummarySchema = z.object({
  tasks: z.number().int().positive(),
  trainRows: z.number().int().nonnegative(),
  validationRows: z.number().int().nonnegative(),
  trainShards: z.number().int().positive(),
});

/** PrepareTrainingData's result (`$.data`). */
export const PreparedTrainingDataSchema = z.object({
  /** `s3://<artifacts>/training/<runId>/train/` (prefix; CSV, label first, no header). */
  trainUri: s3UriSchema,
  validationUri: s3UriSchema,
  preprocessingUri: s3UriSchema,
  statsUri: s3UriSchema,
  validationReportUri: s3UriSchema,
  rowsIn: z.number().int().nonnegative(),
  rowsUsed: z.number().int().nonnegative(),
  rowsQuarantined: z.number().int().nonnegative(),
  trainRows: z.number().int().nonnegative(),
  validationRows: z.number().int().nonnegative(),
  /** Objects under `trainUri` (the train shards; a multiple of `training.instanceCount`). */
  trainShards: z.number().int().positive().optional(),
  /** Contract the data was validated and encoded with. */
  contractVersion: z.string().optional(),
  /** `reports/<runId>/lineage.json`: the training objects read (keys, ETags, version ids). */
  lineageUri: s3UriSchema.optional(),
});
export type PreparedTrainingData = z.infer<typeof PreparedTrainingDataSchema>;

/** One entry of DescribeTrainingJob's FinalMetricDataList. */
export const FinalMetricSchema = z.object({
  MetricName: z.string(),
  Value: z.number(),
  Timestamp: z.union([z.string(), z.number()]).optional(),
});
export type FinalMetric = z.infer<typeof FinalMetricSchema>;

/**
 * Train's result (`$.training`): DescribeTrainingJob's output as the `.sync` integration returns it, kept whole (no
 * ResultSelector: a field missing from the job description would be an uncatchable States.Runtime error there, while
 * a handler reports it as a clear ValidationError). The local stand-in returns the same shape.
 */
export const TrainingJobSchema = z
  .object({
    TrainingJobName: z.string().optional(),
    TrainingJobStatus: z.string(),
    ModelArtifacts: z.object({ S3ModelArtifacts: s3UriSchema }),
    FinalMetricDataList: z.array(FinalMetricSchema).optional(),
  })
  .passthrough();
export type TrainingJob = z.infer<typeof TrainingJobSchema>;

/** Validation metrics the gate looks at. */
export const ModelMetricsSchema = z.object({ auc: z.number().optional(), logloss: z.number().optional() });

/** The Production model at evaluation time. */
export const ProductionRefSchema = z.object({
  version: z.number().int().positive(),
  arn: z.string(),
  runId: z.string().optional(),
  auc: z.number().optional(),
  logloss: z.number().optional(),
});
export type ProductionRef = z.infer<typeof ProductionRefSchema>;

/** One batch transform of the validation channel (PrepareEvaluation names everything; the states only run it). */
export const ScoringJobSchema = z.object({
  /** SageMaker Model (created by PrepareEvaluation) and transform job name, both deterministic per run. */
  modelName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
  transformJobName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
  /** S3 prefix of the input (headerless CSV, label first). */
  inputUri: s3UriSchema,
  /** S3 prefix of the output (`<part>.out`: label, score). */
  outputUri: s3UriSchema,
});
export type ScoringJob = z.infer<typeof ScoringJobSchema>;

/** PrepareEvaluation's result (`$.plan`): what ScoreValidation runs. */
export const EvaluationPlanSchema = z.object({
  candidate: ScoringJobSchema,
  /** The Production model's job; null when there is none or it cannot score these rows (see `championNote`). */
  champion: ScoringJobSchema.extend({
    version: z.number().int().positive(),
    arn: z.string(),
    runId: z.string().optional(),
  }).nullable(),
  championNote: z.string().optional(),
  contractVersion: z.string(),
});
export type EvaluationPlan = z.infer<typeof EvaluationPlanSchema>;

/** One branch of ScoreValidation: the transform's `{ jobName, status }`, `{ status: 'None' }` or the caught error. */
export const ScoringResultSchema = z.object({
  status: z.string(),
  jobName: z.string().optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
});
export type ScoringResult = z.infer<typeof ScoringResultSchema>;

/** ScoreValidation's result (`$.scoring`). */
export const ScoringSchema = z.object({ candidate: ScoringResultSchema, champion: ScoringResultSchema });
export type Scoring = z.infer<typeof ScoringSchema>;

/** EvaluateModel's result (`$.evaluation`). */
export const EvaluationSchema = z.object({
  passed: z.boolean(),
  /** Why the gate failed (empty when passed). */
  reasons: z.array(z.string()),
  /** Remarks that did not fail the gate (e.g. no Production model to compare with). */
  notes: z.array(z.string()),
  metrics: ModelMetricsSchema,
  production: ProductionRefSchema.nullable(),
  thresholds: z.object({ minAuc: z.number(), maxLogloss: z.number(), maxAucDrop: z.number() }),
  /** `reports/<runId>/evaluation.json` (contracts/evaluation.ts EvaluationReportSchema). */
  reportUri: s3UriSchema,
  /** `reports/<runId>/model-quality.json` (SageMaker's model-quality statistics of the candidate). */
  modelQualityUri: s3UriSchema.optional(),
  /** The side-by-side figures on the same rows (NotifyApprovers' table). */
  summary: z.object({ candidate: ModelSummarySchema, champion: ModelSummarySchema.nullable() }).optional(),
  comparison: AucComparisonSchema.nullable().optional(),
  championNote: z.string().optional(),
  lineageUri: s3UriSchema.optional(),
  contractVersion: z.string().optional(),
  /** How many training objects the lineage document lists. */
  trainingObjectCount: z.number().int().nonnegative().optional(),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;

/** RegisterModel's result (`$.registration`). */
export const RegistrationSchema = z.object({
  modelPackageArn: z.string(),
  version: z.number().int().positive(),
  /** false when a retry found the package an earlier attempt had created. */
  created: z.boolean(),
});
export type Registration = z.infer<typeof RegistrationSchema>;

/** Output of a successful Training execution (CompleteRun's result). */
export const CompletedRunSchema = z.object({
  runId: RunIdSchema,
  status: z.literal('SUCCEEDED'),
  modelPackageArn: z.string(),
  modelVersion: z.number().int().positive(),
  metrics: ModelMetricsSchema,
});
export type CompletedRun = z.infer<typeof CompletedRunSchema>;

/** A Step Functions Catch result (`ResultPath: $.error`). */
export const StepErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type StepError = z.infer<typeof StepErrorSchema>;

/**
 * Names of the evaluation's SageMaker Models and transform jobs (one name serves both): `<prefix>-ev-<hash of the run
 * id>-cand` and `…-v<champion version>`, deterministic per run (a retried PrepareEvaluation finds what it made) and
 * under SageMaker's 63 characters. `prefix` is at most 40 characters.
 */
export function evaluationJobNames(
  prefix: string,
  runId: string,
  championVersion: number | null,
  hash: (s: string) => string,
): { candidate: string; champion: string | null } {
  const base = `${prefix.slice(0, 40).replace(/-+$/, '')}-ev-${hash(runId).slice(0, 10)}`;
  return { candidate: `${base}-cand`, champion: championVersion === null ? null : `${base}-v${championVersion}` };
}

/** Longest base name: the Train state appends `-a<retry count>` (SageMaker job names are <= 63 characters). */
export const TRAINING_JOB_BASE_MAX = 59;

/**
 * Base of the SageMaker training job name of a run: the run id when it is a valid job name of at most
 * {@link TRAINING_JOB_BASE_MAX} characters, otherwise the sanitized, shortened run id plus a hash of the full id
 * (deterministic, so every attempt of the same run derives the same name). The Train state appends
 * `-a<$$.State.RetryCount>`, so a retry after a failed job starts a fresh job instead of colliding with the old name.
 */
export function trainingJobBaseName(runId: string, hash: (s: string) => string): string {
  if (/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(runId) && runId.length <= TRAINING_JOB_BASE_MAX) return runId;
  const cleaned = runId
    .replace(/[^a-zA-Z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, TRAINING_JOB_BASE_MAX - 9);
  return `${cleaned || 'run'}-${hash(runId).slice(0, 8)}`.replace(/^-+/, '');
}
