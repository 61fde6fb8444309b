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
