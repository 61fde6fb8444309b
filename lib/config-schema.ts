import { z } from 'zod';
import { SCHEDULE_EXPRESSION_RULE, scheduleExpressionProblem } from './schedule-expression';

/**
 * The configuration schema of one deployment environment (zod), section by section; loading, the error messages and
 * the derived values are in config.ts, which re-exports all of this.
 */

const awsAccount = z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id');
const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1');
const sageMakerInstance = z
  .string()
  .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a SageMaker instance type such as ml.m5.xlarge');
const cacheNodeType = z
  .string()
  .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'an ElastiCache node type such as cache.t4g.small');
const ratio = z.number().min(0).max(1);
const positiveInt = z.number().int().positive();

/**
 * Environment names (`-c env=<name>` and the keys of `context.environments`). They go into every physical name
 * (lib/physical-names.ts, stack names) and into bucket names, `<namePrefix>-<env>-artifacts-<account>-<region>`,
 * which S3 limits to 63 characters of lower-case letters, digits, dots and dashes: with a 12-digit account and the
 * longest region (14, `ap-southeast-N`) that leaves {@link MAX_STEM_LENGTH} for `<namePrefix>-<env>`, i.e. 13 beside
 * the default prefix. State machines (80) and the model package group (63) stay below their limits at that length.
 */
export const ENV_NAME_PATTERN = /^[a-z](?:[a-z0-9-]{0,11}[a-z0-9])?$/;
export const ENV_NAME_RULE =
  'a lower-case environment name: a letter, then letters, digits or inner dashes, 1-13 characters (e.g. dev, qa-1)';
/** Longest `<namePrefix>-<env>`: the bucket name limit (63) less `-artifacts-` (11), the account (12), `-` and the region (14). */
export const MAX_STEM_LENGTH = 63 - '-artifacts-'.length - 12 - 1 - 14;

const envNameSchema = z.string().regex(ENV_NAME_PATTERN, ENV_NAME_RULE);

/** EventBridge schedule expression, checked field by field (lib/schedule-expression.ts). */
const scheduleExpression = z.string().superRefine((expression, ctx) => {
  const problem = scheduleExpressionProblem(expression);
  if (problem) ctx.addIssue({ code: 'custom', message: `${SCHEDULE_EXPRESSION_RULE}: ${problem}` });
});

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'an IANA time zone such as UTC or Europe/Berlin' },
);

export const ScheduleConfigSchema = z
  .object({
    /** Schedule expression for the BatchInference run. */
    cron: scheduleExpression.default('cron(0 2 * * ? *)'),
    /** IANA time zone the cron expression is evaluated in. */
    timezone: timezone.default('UTC'),
    /** Create the schedule enabled (false keeps it, disabled). */
    enabled: z.boolean().default(true),
    /** Retry attempts of EventBridge Scheduler when StartExecution fails. */
    maxRetryAttempts: z.number().int().min(0).max(185).default(3),
  })
  .strict();

/** XGBoost evaluation metrics the gate reads (as `validation:<metric>`). */
const GATE_METRICS = ['logloss', 'auc'] as const;

/** Hyperparameters of the Train step; `training.hyperparameters` is merged over these. */
export const DEFAULT_HYPERPARAMETERS: Readonly<Record<string, string>> = {
  objective: 'binary:logistic',
  // Both metrics the gate reads (validation:logloss, validation:auc); early stopping uses the last one (auc).
  eval_metric: 'logloss,auc',
  num_round: '200',
  max_depth: '5',
  eta: '0.2',
  subsample: '0.8',
  early_stopping_rounds: '10',
};

export const TrainingConfigSchema = z
  .object({
    instanceType: sageMakerInstance.default('ml.m5.xlarge'),
    instanceCount: positiveInt.max(20).default(1),
    volumeSizeGb: positiveInt.max(1024).default(30),
    /** Use managed spot training (cheaper; needs maxWaitSeconds >= maxRuntimeSeconds). */
    useSpot: z.boolean().default(true),
    maxRuntimeSeconds: positiveInt.default(3600),
    maxWaitSeconds: positiveInt.default(7200),
    /** Built-in XGBoost framework version. */
    xgboostVersion: z.enum(['1.7-1']).default('1.7-1'),
    /**
     * Built-in XGBoost hyperparameters, merged over {@link DEFAULT_HYPERPARAMETERS}: a key set here replaces that key
     * only. The gate needs `objective` binary:logistic and both of its metrics in `eval_metric`.
     */
    hyperparameters: z
      .record(z.string(), z.string())
      .transform((h) => ({ ...DEFAULT_HYPERPARAMETERS, ...h }))
      .superRefine((h, ctx) => {
        if (h.objective !== DEFAULT_HYPERPARAMETERS.objective) {
          ctx.addIssue({
            code: 'custom',
            path: ['objective'],
            message: `"${DEFAULT_HYPERPARAMETERS.objective}" (the gate, the decision threshold and the served scores are probabilities)`,
          });
        }
        const metrics = (h.eval_metric ?? '').split(',').map((m) => m.trim());
        const missing = GATE_METRICS.filter((m) => !metrics.includes(m));
        if (missing.length > 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['eval_metric'],
            message: `a list holding ${GATE_METRICS.join(' and ')} (the gate reads validation:${GATE_METRICS.join(' and validation:')}); missing ${missing.join(', ')}`,
          });
        }
      })
      .default({ ...DEFAULT_HYPERPARAMETERS }),
    /** Share of entities (by hash of the entity id) that go to validation. */
    validationShare: ratio.default(0.2),
    /**
     * Most rows in one file of the train channel. Each encode task of PrepareTrainingData writes its own shards of at
     * most this many rows; the total is a multiple of instanceCount, every shard non-empty
     * (lambdas/data/shards.ts allocateShards), and the Train state shards them over the instances (ShardedByS3Key)
     * when instanceCount > 1.
     */
    maxRowsPerShard: positiveInt.min(10_000).max(100_000_000).default(1_000_000),
    /**
     * Listed bytes of one PrepareTrainingData task: consecutive objects in key order up to this size (a larger
     * object is a task of its own; objects are not split). Each task is one ProfileTask and one EncodeTask Lambda
     * invocation (15-minute limit). 256 MiB ≈ 4.4 M rows at 61 B a row; at the ~40 k rows/s a 2 GB invocation
     * validates, a pass takes ~2 min, leaving the slower encode pass several times its time (README Benchmarks, B6).
     */
    prepareTaskBytes: positiveInt
      .min(1024)
      .max(4 * 1024 ** 3)
      .default(256 * 1024 ** 2),
    /** Tasks of the ProfileTrainingData / EncodeTrainingData Distributed Maps that run at once. */
    prepareConcurrency: positiveInt.max(1000).default(10),
  })
  .strict()
  .refine((t) => !t.useSpot || t.maxWaitSeconds >= t.maxRuntimeSeconds, {
    message: 'a value >= maxRuntimeSeconds when useSpot is true',
    path: ['maxWaitSeconds'],
  });

export const GateConfigSchema = z
  .object({
    /** Minimum validation AUC a candidate needs. */
    minAuc: ratio.default(0.7),
    /** Maximum validation log loss a candidate may have. */
    maxLogloss: z.number().positive().default(0.6),
    /**
     * Tolerance against the Production model on the same validation rows: the gate fails when the whole bootstrap
     * interval of (candidate AUC − Production AUC) lies below −maxAucDropVsProduction.
     */
    maxAucDropVsProduction: ratio.default(0.01),
    /** Score at or above which a row counts as predicted positive (confusion matrix, precision, recall, F1). */
    decisionThreshold: ratio.default(0.5),
  })
  .strict();

export const ValidationConfigSchema = z
  .object({
    /** Share of rows that may be quarantined before the step fails. */
    maxInvalidRowRatio: ratio.default(0.05),
    /** How many violations the report lists one by one (the rest are counted per rule). */
    maxReportedViolations: positiveInt.max(10_000).default(100),
  })
  .strict();

export const TransformConfigSchema = z
  .object({
    instanceType: sageMakerInstance.default('ml.m5.large'),
    instanceCount: positiveInt.max(100).default(1),
    maxPayloadInMB: positiveInt.max(100).default(6),
    maxConcurrentTransforms: z.number().int().min(0).max(64).default(0),
  })
  .strict();

export const BatchConfigSchema = z
  .object({
    /** At most this many feature objects are scored per run; a truncated run starts the next (maxRunsPerChain). */
    maxObjectsPerRun: positiveInt.max(10_000).default(500),
    /**
     * A truncated run starts a new execution for the rest of the backlog, up to this many runs in a row; then the
     * next scheduled run starts a new chain.
     */
    maxRunsPerChain: positiveInt.max(10_000).default(100),
    /** Lease of the batch lock; a crashed run's lock expires after this. */
    lockLeaseSeconds: positiveInt.default(6 * 3600),
    /** Start a BatchInference run when a model version is approved. */
    startOnApproval: z.boolean().default(false),
    /** Result files the LoadScores Map loads in parallel (bounded so the cache is not overrun). */
    loadConcurrency: positiveInt.max(40).default(4),
    /**
     * Most rows in one transform input part (and so in one LoadScores item): bigger objects are split into parts of
     * this many rows, smaller objects of one day coalesced. Bounded by the loader, which must stream one part within
     * its 10-minute timeout (~100 k rows/s planned: 20 M rows ≈ 200 s, half the budget in the worst store state).
     */
    targetRowsPerPart: positiveInt.min(1_000).max(20_000_000).default(1_000_000),
    /**
     * Objects with at most this many valid rows share parts (coalesced, per day); 0 gives every object parts of its
     * own. Unset: a quarter of `targetRowsPerPart`.
     */
    coalesceRows: z.number().int().min(0).max(20_000_000).optional(),
    /**
     * Bytes of feature objects one prepare task (PrepareSlice) validates and encodes: whole small days are packed up
     * to it, a bigger day is split into entity-hash slices of about this size. The default keeps a task near 3.5
     * minutes of its 15 at ~2.4 MB/s (~40 k rows/s of 61-byte rows in a 2 GB Lambda).
     */
    prepareBytesPerTask: positiveInt
      .min(1024 ** 2)
      .max(4 * 1024 ** 3)
      .default(512 * 1024 ** 2),
    /** Prepare tasks run in parallel by the PrepareTasks Distributed Map. */
    prepareConcurrency: positiveInt.max(1000).default(10),
    /** When the ledger is reconciled with the features bucket (catches missed arrival events). */
    reconcileSchedule: scheduleExpression.default('rate(6 hours)'),
    /**
     * A Production change rescores the partitions of the last this many days (unset: `cache.scoreTtlDays`, beyond
     * which stored scores have expired anyway).
     */
    rescoreWindowDays: positiveInt.max(3650).optional(),
  })
  .strict();

export const CacheConfigSchema = z
  .object({
    /** `valkey` is protocol-compatible and cheaper; `redis` is the default. */
    engine: z.enum(['redis', 'valkey']).default('redis'),
    nodeType: cacheNodeType.default('cache.t4g.small'),
    /**
     * Shards (node groups). 1 = cluster mode disabled; more = cluster mode enabled, the score store's keys spread by
     * hash tag (a change of shard count changes the layout: reload the scores, see README Operate).
     */
    shards: z.number().int().min(1).max(500).default(1),
    /**
     * Entities the store is sized for (~64 per hash bucket); a layout input like `shards`. Up to ~2× this the
     * buckets stay compact listpacks.
     */
    expectedEntities: positiveInt.max(2_000_000_000).default(5_000_000),
    /** Read replicas per shard (0 = one node). */
    replicasPerShard: z.number().int().min(0).max(5).default(0),
    /** Multi-AZ with automatic failover (needs replicasPerShard >= 1). */
    multiAz: z.boolean().default(false),
    /** Non-default port the cache listens on. */
    port: z.number().int().min(1024).max(65535).default(6380),
    /** Days a loaded score lives before it expires. */
    scoreTtlDays: positiveInt.max(365).default(7),
    /** Category feature whose values get their own fallback score. */
    segmentFeature: z.string().min(1).default('plan'),
  })
  .strict()
  .refine((c) => !c.multiAz || c.replicasPerShard >= 1, {
    message: 'false unless replicasPerShard >= 1 (Multi-AZ needs a replica to fail over to)',
    path: ['multiAz'],
  });

export const ApiConfigSchema = z
  .object({
    throttleRateLimit: positiveInt.default(500),
    throttleBurstLimit: positiveInt.default(1000),
    maxBatchIds: positiveInt.max(1000).default(100),
  })
  .strict();

export const MonitoringConfigSchema = z
  .object({
    /** Email subscribed to the alarm and approver topics (optional). */
    alarmEmail: z.email({ message: 'an email address such as ops@example.com' }).optional(),
    /** Alarm when the newest loaded scores are older than this. */
    scoreFreshnessSloHours: positiveInt.default(36),
    /** Population stability index over which a feature counts as drifted. */
    driftPsiThreshold: z.number().positive().default(0.2),
    /** Fail the batch run (instead of only alarming) when a feature drifts. */
    failOnDrift: z.boolean().default(false),
    /** Alarm when more than this percent of answered reads (hourly average) come from a fallback record. */
    maxFallbackRatePercent: z.number().min(0).max(100).default(20),
    /** Alarm when a state machine run takes longer than this. */
    maxRunMinutes: positiveInt.default(180),
    /** Alarm when no new feature object has arrived for this many hours. */
    maxFeatureObjectAgeHours: positiveInt.default(48),
    /** Alarm when more than this percent of served scores (hourly) are not from the Production version … */
    maxNonProductionServedPercent: z.number().min(0).max(100).default(0),
    /** … for this many consecutive hours (longer than a rescoring run takes after a Production change). */
    nonProductionAlarmHours: positiveInt.max(24).default(6),
  })
  .strict();

export const PipelineConfigSchema = z
  .object({
    /** CodeConnections (CodeStar) connection ARN; without it no PipelineStack is created. */
    connectionArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[\w-]+$/,
        'a connection ARN',
      )
      .optional(),
    /** owner/name of the source repository. */
    repository: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'owner/name')
      .optional(),
    branch: z.string().min(1).default('main'),
    /** Account and region of the Prod stage (defaults to the pipeline's own). */
    prodAccount: awsAccount.optional(),
    prodRegion: awsRegion.optional(),
    /** How long the post-deploy step waits for the Training run before failing the pipeline. */
    postDeployTrainingWaitMinutes: positiveInt.max(480).default(90),
    /**
     * Which outcomes of the Dev Training run stop the pipeline before Prod: `failure` (the run failed: code or
     * infrastructure is broken; a gate rejection only warns, it judges the data and model, not the deploy),
     * `failure-or-rejection`, or `never`. Without training data the run is skipped with a warning either way.
     */
    blockPromotionOn: z.enum(['failure', 'failure-or-rejection', 'never']).default('failure'),
    /** Environment block (`context.environments.<name>`) whose settings the pipeline's Prod stage deploys. */
    prodEnvironment: envNameSchema.default('prod'),
  })
  .strict();

export const EnvironmentConfigSchema = z
  .object({
    account: awsAccount.optional(),
    region: awsRegion.optional(),
    /** Prefix for physical names (state machines, model package group). */
    namePrefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,20}$/, 'lowercase letters, digits and dashes, 2-21 chars, starting with a letter')
      .default('mlops-batch'),
    logRetentionDays: z
      // One literal with several values: a bad value reports `invalid_value` listing the allowed retention days.
      .literal([1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731])
      .default(30),
    /**
     * Ship a source map with each Lambda bundle (and run Node with `--enable-source-maps`) so stack traces in the
     * logs name the TypeScript file and line; off saves about half of `cdk.out` and of each function's package.
     */
    sourceMaps: z.boolean().default(true),
    schedule: ScheduleConfigSchema.default(ScheduleConfigSchema.parse({})),
    training: TrainingConfigSchema.default(TrainingConfigSchema.parse({})),
    gate: GateConfigSchema.default(GateConfigSchema.parse({})),
    validation: ValidationConfigSchema.default(ValidationConfigSchema.parse({})),
    transform: TransformConfigSchema.default(TransformConfigSchema.parse({})),
    batch: BatchConfigSchema.default(BatchConfigSchema.parse({})),
    cache: CacheConfigSchema.default(CacheConfigSchema.parse({})),
    api: ApiConfigSchema.default(ApiConfigSchema.parse({})),
    monitoring: MonitoringConfigSchema.default(MonitoringConfigSchema.parse({})),
    pipeline: PipelineConfigSchema.default(PipelineConfigSchema.parse({})),
  })
  .strict();

export type EnvironmentConfig = z.infer<typeof EnvironmentConfigSchema>;
