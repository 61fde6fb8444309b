/**
 * State names of the two state machines. The local runtime overrides states by name and tests assert the order of
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
  Notify: 'Notify',
  RecordFailure: FailureState.RecordFailure,
  ReleaseLockAfterFailure: FailureState.ReleaseLockAfterFailure,
  Alert: FailureState.Alert,
  Fail: FailureState.Fail,
} as const;
export type BatchStateName = (typeof BatchState)[keyof typeof BatchState];
