import { z } from 'zod';
import { ConfigurationError } from './errors';
import { LAYOUT_PATTERN } from './score-layout';

/**
 * The environment of every Lambda function under `lambdas/functions/`: which variables its construct sets and how the
 * handler parses each one. The constructs build the environment with {@link functionEnvironment} (a missing or unknown
 * variable does not compile); the handlers read it with {@link functionEnvLoader} / {@link parseFunctionEnv} (a
 * missing or malformed value fails with one {@link ConfigurationError} line naming the function and the variable).
 *
 * `ProjectFunction` (lib/constructs/project-function.ts) adds `NODE_OPTIONS` and the Powertools variables to every
 * function; the SDK clients read `AWS_ENDPOINT_URL` (lambdas/platform/clients.ts). Those are not per function and are
 * not declared here.
 */

/** How a variable reaches the function. */
type Supply =
  /** The construct always sets it. */
  | 'given'
  /** Set by one of the constructs that create the function, not by the other (record-failure serves two workflows). */
  | 'sometimes'
  /** Set by the platform (the Lambda runtime, or the local runtime and tests), never by a construct. */
  | 'platform';

/** One declared variable: who supplies it, what a valid value is, how it parses (unset or '' parses as undefined). */
export interface EnvVariable<T = unknown, S extends Supply = Supply> {
  readonly supply: S;
  /** The rule in words, e.g. "a positive integer" (used in the error message). */
  readonly rule: string;
  readonly schema: z.ZodType<T>;
}

interface Rule<T> {
  readonly rule: string;
  readonly schema: z.ZodType<T>;
}

const rule = <T>(text: string, schema: z.ZodType<T>): Rule<T> => ({ rule: text, schema });
const numeric = (check: z.ZodNumber) => z.string().transform(Number).pipe(check);

/** Parse rules. */
const text = rule('a non-empty string', z.string());
const positiveInt = rule('a positive integer', numeric(z.number().int().min(1)));
const nonNegativeInt = rule('a non-negative integer', numeric(z.number().int().min(0)));
const number = rule('a number', numeric(z.number()));
const ratio = rule('a number in 0..1', numeric(z.number().min(0).max(1)));
const port = rule('a port number (1..65535)', numeric(z.number().int().min(1).max(65535)));
const bool = rule(
  '"true" or "false"',
  z.enum(['true', 'false']).transform((v) => v === 'true'),
);
const json = rule(
  'JSON',
  z.string().transform((s, ctx): unknown => {
    try {
      return JSON.parse(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  }),
);
const list = rule(
  'a comma-separated list with at least one entry',
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string()).min(1)),
);

const LAYOUT = rule('"keys" or "buckets:<groups>:<bucketsPerGroup>"', z.string().regex(LAYOUT_PATTERN));

/** Set by the construct and required. */
const required = <T>(r: Rule<T>): EnvVariable<T, 'given'> => ({ supply: 'given', ...r });
/** Set by the construct; when it is absent (tests, local runs) the handler uses `value`. */
const defaulted = <T>(r: Rule<T>, value: NoInfer<T>): EnvVariable<T, 'given'> => ({
  supply: 'given',
  rule: `${r.rule} (default ${JSON.stringify(value)})`,
  schema: r.schema.optional().transform((v) => (v === undefined ? value : v)),
});
/** Set by the construct; the handler treats it as optional. */
const optional = <T>(r: Rule<T>): EnvVariable<T | undefined, 'given'> => ({
  supply: 'given',
  rule: `${r.rule} (optional)`,
  schema: r.schema.optional(),
});
/**
 * Set by the construct but not read by the function (the workflows give every function the same base set); declared
 * so the constructs keep setting it, parsed as an optional string.
 */
const unread = (): EnvVariable<string | undefined, 'given'> => ({ ...optional(text), rule: 'unused (optional)' });
/** Set by one of the two constructs that create the function. */
const sometimes = <T>(v: EnvVariable<T>): EnvVariable<T, 'sometimes'> => ({ ...v, supply: 'sometimes' });
/** Set by the platform. */
const platform = <T>(v: EnvVariable<T>): EnvVariable<T, 'platform'> => ({ ...v, supply: 'platform' });

/** Maximum ids per batch request of the read API when `MAX_BATCH_IDS` is absent. */
export const DEFAULT_MAX_BATCH_IDS = 100;

/** The base set of the BatchInference workflow's functions (lib/constructs/batch-inference-workflow.ts). */
const BATCH_BASE = {
  TABLE_NAME: unread(),
  FEATURES_BUCKET: unread(),
  ARTIFACTS_BUCKET: unread(),
  KMS_KEY_ARN: unread(),
  CODE_VERSION: unread(),
};

/** The base set of the Training workflow's functions (lib/constructs/training-workflow.ts). */
const TRAINING_BASE = {
  TABLE_NAME: unread(),
  FEATURES_BUCKET: unread(),
  ARTIFACTS_BUCKET: unread(),
  MODEL_PACKAGE_GROUP_NAME: unread(),
  CODE_VERSION: unread(),
};

/**
 * The score cache connection (lib/stacks/serving-stack.ts `cacheEnvironment`). lambdas/platform/redis.ts reads these
 * when it connects: `REDIS_URL` (local runtime, tests) replaces the other four, so each is optional here and
 * redis.ts reports a missing host or port.
 */
const CACHE = {
  CACHE_HOST: optional(text),
  CACHE_PORT: optional(port),
  CACHE_TLS: defaulted(bool, true),
  CACHE_AUTH_SECRET_ARN: optional(text),
  /** "true" for a sharded replication group (cluster mode enabled). */
  CACHE_CLUSTER: defaulted(bool, false),
  /** Score store layout (lambdas/domain/score-store/layout.ts), the same for the loader, finalizer and reader. */
  SCORE_LAYOUT: optional(LAYOUT),
  REDIS_URL: platform(optional(text)),
};

/** Gate thresholds (config `gate.*`). */
const GATE = {
  GATE_MIN_AUC: required(number),
  GATE_MAX_LOGLOSS: required(number),
  GATE_MAX_AUC_DROP: required(number),
};

/** Ledger functions of the BatchInference stack (lib/stacks/batch-inference-stack.ts `ledgerEnv`). */
const LEDGER = { TABLE_NAME: required(text), FEATURES_BUCKET: required(text), KMS_KEY_ARN: unread() };

/** Every function's environment, by its directory under `lambdas/functions/`. */
export const FUNCTION_ENV = {
  // BatchInference workflow
  'acquire-lock': {
    ...BATCH_BASE,
    TABLE_NAME: required(text),
    CODE_VERSION: defaulted(text, 'unknown'),
    LOCK_LEASE_SECONDS: required(positiveInt),
  },
  'release-lock': { ...BATCH_BASE, TABLE_NAME: required(text) },
  'find-unscored': {
    ...BATCH_BASE,
    TABLE_NAME: required(text),
    ARTIFACTS_BUCKET: required(text),
    KMS_KEY_ARN: optional(text),
    MAX_OBJECTS_PER_RUN: required(positiveInt),
    RESCORE_WINDOW_DAYS: required(positiveInt),
  },
  'resolve-model': {
    ...BATCH_BASE,
    TABLE_NAME: required(text),
    ARTIFACTS_BUCKET: required(text),
    MODEL_PACKAGE_GROUP_NAME: required(text),
    SAGEMAKER_ROLE_ARN: required(text),
  },
  'plan-prepare': {
    ...BATCH_BASE,
    ARTIFACTS_BUCKET: required(text),
    FEATURES_BUCKET: required(text),
    PREPARE_BYTES_PER_TASK: defaulted(positiveInt, 512 * 1024 ** 2),
    /** The score cache's layout (the Serving stack's value): a big day's slices own ranges of its buckets. */
    SCORE_LAYOUT: optional(LAYOUT),
  },
  'prepare-slice': {
    ...BATCH_BASE,
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    SEGMENT_FEATURE: required(text),
    MAX_REPORTED_VIOLATIONS: required(positiveInt),
    TARGET_ROWS_PER_PART: defaulted(positiveInt, 1_000_000),
    COALESCE_ROWS: optional(nonNegativeInt),
  },
  'prepare-inference-data': {
    ...BATCH_BASE,
    TABLE_NAME: required(text),
    ARTIFACTS_BUCKET: required(text),
    MAX_INVALID_ROW_RATIO: required(ratio),
    MAX_REPORTED_VIOLATIONS: required(positiveInt),
    DRIFT_PSI_THRESHOLD: defaulted(number, 0.2),
    FAIL_ON_DRIFT: defaulted(bool, false),
  },
  'commit-ledger': { ...BATCH_BASE, TABLE_NAME: required(text), MAX_RUNS_PER_CHAIN: defaulted(positiveInt, 100) },
  notify: { ...BATCH_BASE, ALERT_TOPIC_ARN: required(text) },
  // Training workflow
  'start-run': {
    ...TRAINING_BASE,
    TABLE_NAME: required(text),
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    CODE_VERSION: defaulted(text, 'unknown'),
    // Recorded on the run as given (absent ones stay absent).
    GATE_MIN_AUC: optional(number),
    GATE_MAX_LOGLOSS: optional(number),
    GATE_MAX_AUC_DROP: optional(number),
    VALIDATION_SHARE: optional(number),
    MAX_INVALID_ROW_RATIO: optional(number),
    /** Instance type/count, spot, runtime limits, XGBoost version and hyperparameters of the Train state. */
    TRAINING_PARAMS: optional(json),
  },
  'prepare-training-data': {
    ...TRAINING_BASE,
    TABLE_NAME: required(text),
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    VALIDATION_SHARE: required(number),
    MAX_INVALID_ROW_RATIO: required(number),
    MAX_REPORTED_VIOLATIONS: required(number),
    /** `training.instanceCount`: the train channel is written as a multiple of this many shards. */
    TRAINING_INSTANCE_COUNT: defaulted(positiveInt, 1),
    /** `training.maxRowsPerShard`: most rows in one train shard. */
    TRAIN_SHARD_MAX_ROWS: defaulted(positiveInt, 1_000_000),
  },
  /** PrepareTrainingData fanned out (lambdas/data/training-profile.ts, training-encode.ts). */
  'plan-training-data': {
    ...TRAINING_BASE,
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    /** `training.prepareTaskBytes`: listed bytes of one profile/encode task. */
    PREPARE_TASK_BYTES: required(positiveInt),
  },
  'profile-training-data': {
    ...TRAINING_BASE,
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    VALIDATION_SHARE: required(number),
    MAX_REPORTED_VIOLATIONS: required(number),
  },
  'build-preprocessing-spec': {
    ...TRAINING_BASE,
    ARTIFACTS_BUCKET: required(text),
    VALIDATION_SHARE: required(number),
    MAX_INVALID_ROW_RATIO: required(number),
    MAX_REPORTED_VIOLATIONS: required(number),
    TRAINING_INSTANCE_COUNT: defaulted(positiveInt, 1),
    TRAIN_SHARD_MAX_ROWS: defaulted(positiveInt, 1_000_000),
  },
  'encode-training-data': {
    ...TRAINING_BASE,
    FEATURES_BUCKET: required(text),
    ARTIFACTS_BUCKET: required(text),
    VALIDATION_SHARE: required(number),
  },
  'prepare-evaluation': {
    ...TRAINING_BASE,
    ARTIFACTS_BUCKET: required(text),
    MODEL_PACKAGE_GROUP_NAME: required(text),
    /** Prefix of the evaluation's SageMaker Models and transform jobs (<= 40 characters). */
    EVALUATION_NAME_PREFIX: required(text),
    INFERENCE_IMAGE_URI: required(text),
    /** Role the evaluation Models run with (passed to CreateModel). */
    SAGEMAKER_ROLE_ARN: required(text),
  },
  'evaluate-model': {
    ...TRAINING_BASE,
    TABLE_NAME: required(text),
    ARTIFACTS_BUCKET: required(text),
    MODEL_PACKAGE_GROUP_NAME: required(text),
    CODE_VERSION: defaulted(text, 'unknown'),
    ...GATE,
    /** Score at or above which a row is predicted positive (confusion matrix, precision, recall, F1). */
    GATE_DECISION_THRESHOLD: defaulted(ratio, 0.5),
  },
  'register-model': {
    ...TRAINING_BASE,
    TABLE_NAME: required(text),
    MODEL_PACKAGE_GROUP_NAME: required(text),
    INFERENCE_IMAGE_URI: required(text),
    /** Instance types batch transform may use. */
    TRANSFORM_INSTANCE_TYPES: required(list),
  },
  'notify-approvers': {
    ...TRAINING_BASE,
    MODEL_PACKAGE_GROUP_NAME: required(text),
    APPROVER_TOPIC_ARN: required(text),
    AWS_REGION: platform(required(text)),
  },
  'complete-run': { ...TRAINING_BASE, TABLE_NAME: required(text) },
  'approval-event': {
    ...TRAINING_BASE,
    TABLE_NAME: required(text),
    MODEL_PACKAGE_GROUP_NAME: required(text),
    START_BATCH_ON_APPROVAL: defaulted(bool, false),
    BATCH_STATE_MACHINE_ARN: optional(text),
  },
  /** Each workflow creates one with its own base set (BatchInference may be handed the Training one instead). */
  'record-failure': {
    TABLE_NAME: required(text),
    FEATURES_BUCKET: unread(),
    /** Where the Distributed Maps' ResultWriter files are: a failed map run's first failed item is read there. */
    ARTIFACTS_BUCKET: required(text),
    CODE_VERSION: unread(),
    MODEL_PACKAGE_GROUP_NAME: sometimes(unread()),
    KMS_KEY_ARN: sometimes(unread()),
  },
  // BatchInference stack (ledger)
  arrival: LEDGER,
  reconcile: LEDGER,
  // Serving stack (score cache)
  'load-scores': {
    ...CACHE,
    SCORE_TTL_SECONDS: required(positiveInt),
    /** The function's memory in MB (the Lambda runtime sets it): sizes the loader's row buffers. */
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: platform(optional(positiveInt)),
  },
  /** TABLE_NAME: the Production pointer (fallbacks are written from Production-version scores only). */
  'finalize-scores': { ...CACHE, SEGMENT_FEATURE: unread(), TABLE_NAME: optional(text) },
  /** TABLE_NAME: the Production pointer (labels each served score; a rejected version is never served as a model). */
  'read-scores': {
    ...CACHE,
    TABLE_NAME: optional(text),
    MAX_BATCH_IDS: defaulted(
      rule('an integer in 1..1000', numeric(z.number().int().min(1).max(1000))),
      DEFAULT_MAX_BATCH_IDS,
    ),
  },
} as const satisfies Record<string, Readonly<Record<string, EnvVariable>>>;

type Declaration = typeof FUNCTION_ENV;
/** A function's directory name under `lambdas/functions/`. */
export type FunctionName = keyof Declaration;

type KeysSupplied<N extends FunctionName, S extends Supply> = {
  [K in keyof Declaration[N]]: Declaration[N][K] extends { readonly supply: S } ? K : never;
}[keyof Declaration[N]];

/** The raw values a construct gives function `N`: exactly the declared variables (minus the platform's). */
export type FunctionEnvironment<N extends FunctionName> = { readonly [K in KeysSupplied<N, 'given'>]: string } & {
  readonly [K in KeysSupplied<N, 'sometimes'>]?: string;
};

/** The parsed environment of function `N`. */
export type FunctionEnv<N extends FunctionName> = {
  readonly [K in keyof Declaration[N]]: Declaration[N][K] extends EnvVariable<infer T> ? T : never;
};

/** `E`, with every key that `Shape` does not have typed `never` (an unknown key is a type error). */
export type Exact<E, Shape> = E & { readonly [K in Exclude<keyof E, keyof Shape>]: never };

/**
 * The `environment` of function `name`, checked against the declaration at compile time: a missing or unknown
 * variable is a type error. Returns the same object (key order kept, so the template does not change).
 */
export function functionEnvironment<N extends FunctionName, E extends FunctionEnvironment<N>>(
  _name: N,
  environment: Exact<E, FunctionEnvironment<N>>,
): Record<string, string> {
  return environment as Record<string, string>;
}

const MAX_SHOWN = 120;
const show = (raw: string) => JSON.stringify(raw.length > MAX_SHOWN ? `${raw.slice(0, MAX_SHOWN)}…` : raw);

/**
 * Parse function `name`'s environment. An unset variable and an empty one are the same (undefined).
 * @throws ConfigurationError naming the function, the variable, its value and the rule, in one line
 */
export function parseFunctionEnv<N extends FunctionName>(
  name: N,
  env: Readonly<Record<string, string | undefined>> = process.env,
): FunctionEnv<N> {
  const out: Record<string, unknown> = {};
  for (const [variable, spec] of Object.entries(FUNCTION_ENV[name]) as [string, EnvVariable][]) {
    const raw = env[variable] === '' ? undefined : env[variable];
    const r = spec.schema.safeParse(raw);
    if (!r.success) {
      const what = raw === undefined ? 'is not set' : `= ${show(raw)} is not ${spec.rule}`;
      throw new ConfigurationError(
        `${name}: environment variable ${variable} ${what} (${variable} must be ${spec.rule})`,
        { function: name, variable, value: raw },
      );
    }
    out[variable] = r.data;
  }
  return out as FunctionEnv<N>;
}

/**
 * A handler's environment reader: parses `process.env` on the first call and again only when one of the function's
 * variables changed. On Lambda the environment is fixed, so it parses once per container; tests and the local runtime
 * set variables between invocations of the same module, and see them.
 */
export function functionEnvLoader<N extends FunctionName>(name: N): () => FunctionEnv<N> {
  const names = Object.keys(FUNCTION_ENV[name]);
  let last: { key: string; env: FunctionEnv<N> } | undefined;
  return () => {
    const key = JSON.stringify(names.map((n) => process.env[n] ?? null));
    if (last?.key !== key) last = { key, env: parseFunctionEnv(name) };
    return last.env;
  };
}

/**
 * `service` dimension of the freshness metrics, whichever function emits them (lambdas/platform/freshness-metrics.ts);
 * the Monitoring stack alarms on it.
 */
export const FRESHNESS_SERVICE = 'freshness';
