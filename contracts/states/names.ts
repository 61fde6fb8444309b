import { randomUUID } from 'node:crypto';

/**
 * State names of the two state machines, and the run id every execution is named by. The local runtime overrides states by name and tests assert the order of
 * states by name, so a name here is a contract: rename one only together with every user.
 */

/**
 * The failure path both machines end in: `RecordFailure → (ReleaseLockAfterFailure, when the machine holds a lock) →
 * Alert → Fail`.
 */
export const FailureState = {
  RecordFailure: 'RecordFailure',
  ReleaseLockAfterFailure: 'ReleaseLockAfterFailure',
  Alert: 'Alert',
  Fail: 'Fail',
} as const;

/** States of the Training state machine, in definition order. */
export const TrainingState = {
  StartRun: 'StartRun',
  PlanTrainingData: 'PlanTrainingData',
  ProfileTrainingData: 'ProfileTrainingData',
  ProfileTask: 'ProfileTask',
  BuildPreprocessingSpec: 'BuildPreprocessingSpec',
  EncodeTrainingData: 'EncodeTrainingData',
  EncodeTask: 'EncodeTask',
  PrepareTrainingData: 'PrepareTrainingData',
  Train: 'Train',
  PrepareEvaluation: 'PrepareEvaluation',
  ScoreValidation: 'ScoreValidation',
  ScoreCandidate: 'ScoreCandidate',
  HasChampion: 'HasChampion?',
  ScoreChampion: 'ScoreChampion',
  ChampionScoringFailed: 'ChampionScoringFailed',
  NoChampion: 'NoChampion',
  EvaluateModel: 'EvaluateModel',
  ModelGate: 'ModelGate',
  RegisterModel: 'RegisterModel',
  NotifyApprovers: 'NotifyApprovers',
  CompleteRun: 'CompleteRun',
  RecordGateFailure: 'RecordGateFailure',
  GateFailed: 'GateFailed',
  RecordFailure: FailureState.RecordFailure,
  Alert: FailureState.Alert,
  Fail: FailureState.Fail,
} as const;
export type TrainingStateName = (typeof TrainingState)[keyof typeof TrainingState];

/** States of the BatchInference state machine, in definition order. Choice states end in `?`. */
export const BatchState = {
  AcquireLock: 'AcquireLock',
  LockAcquired: 'LockAcquired?',
  AlreadyRunning: 'AlreadyRunning',
  FindUnscored: 'FindUnscored',
  HasWork: 'HasWork?',
  ReleaseLockNoWork: 'ReleaseLockNoWork',
  NothingToScore: 'NothingToScore',
  ResolveModel: 'ResolveModel',
  PlanPrepare: 'PlanPrepare',
  PrepareTasks: 'PrepareTasks',
  PrepareSlice: 'PrepareSlice',
  PrepareInferenceData: 'PrepareInferenceData',
  HasRows: 'HasRows?',
  Transform: 'Transform',
  LoadScores: 'LoadScores',
  LoadPart: 'LoadPart',
  FinalizeScores: 'FinalizeScores',
  CommitLedger: 'CommitLedger',
  ReleaseLock: 'ReleaseLock',
  MoreWork: 'MoreWork?',
  StartContinuation: 'StartContinuation',
  Notify: 'Notify',
  RecordFailure: FailureState.RecordFailure,
  ReleaseLockAfterFailure: FailureState.ReleaseLockAfterFailure,
  Alert: FailureState.Alert,
  Fail: FailureState.Fail,
} as const;
export type BatchStateName = (typeof BatchState)[keyof typeof BatchState];

/**
 * A new run id, which is also the execution name: `<kind>-YYYYMMDDTHHMMSSZ-<4 random>` (sortable by start, unique,
 * well under Step Functions' 80-character name limit). The CLI (against AWS) and the local runtime both start runs
 * with it.
 */
export function newRunId(kind: 'train' | 'batch', now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${kind}-${stamp}-${randomUUID().slice(0, 4)}`;
}

/** Step Functions' limit on an execution name (StartExecution `name`). */
export const RUN_ID_MAX_LENGTH = 80;

/**
 * Characters Step Functions refuses in an execution name (StartExecution `name`): whitespace, brackets `< > { } [ ]`,
 * wildcards `? *`, the special characters `" # % \ ^ | ~ \` $ & , ; : /`, and control characters (U+0000–001F,
 * U+007F–009F).
 */
const FORBIDDEN_BY_STEP_FUNCTIONS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]/u; // \p{Cc}: exactly U+0000–001F, U+007F–009F

/**
 * What is wrong with a run id, or undefined when it is usable. Beyond Step Functions' own rules the run id must be
 * ASCII letters, digits, `-` and `_` starting with a letter or digit: Step Functions logs executions to CloudWatch
 * only for such names, and the run id becomes a path segment of S3 keys (`batch/<runId>/…`, `run=<runId>/`) and part
 * of job names, where `.`/`..`, `=` or non-ASCII text would be ambiguous.
 */
export function runIdProblem(runId: string): string | undefined {
  if (runId.length < 1 || runId.length > RUN_ID_MAX_LENGTH) {
    return `must be 1–${RUN_ID_MAX_LENGTH} characters (Step Functions' execution-name limit), got ${runId.length}`;
  }
  const bad = FORBIDDEN_BY_STEP_FUNCTIONS.exec(runId)?.[0];
  if (bad !== undefined) {
    return `contains ${JSON.stringify(bad)}, which Step Functions refuses in an execution name`;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(runId)) {
    return 'must be ASCII letters, digits, "-" and "_", starting with a letter or digit';
  }
  return undefined;
}
