/**
 * What the local training job did, for the local run's summary and report: which algorithm and version, with which
 * hyperparameters, how many rounds, and the train/validation metrics of XGBoost's evaluation log.
 */

export interface TrainingSummary {
  readonly jobName: string;
  /** e.g. `XGBoost 1.7.4 (python3-xgboost)`. */
  readonly algorithm: string;
  readonly xgboostVersion: string;
  /** The image the job asked for (SageMaker's XGBoost 1.7-1 in the synthesized app). */
  readonly requestedImage: string | undefined;
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Rounds XGBoost ran (fewer than num_round when early stopping ended training). */
  readonly roundsRun: number;
  /** Trees in the saved model (the best round's, with early stopping). */
  readonly boostedRounds: number;
  readonly bestIteration: number | undefined;
  readonly nthread: number;
  readonly trainSeconds: number;
  readonly trainRows: number;
  readonly validationRows: number;
  readonly features: number;
  /** Final value of each metric of the evaluation log (`train:auc`, `validation:auc`, …). */
  readonly metrics: Readonly<Record<string, number>>;
}

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/** Build the summary from the job's request and xgboost_job.py's result. */
export function trainingSummary(input: {
  readonly jobName: string;
  readonly requestedImage: string | undefined;
  readonly hyperparameters: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly roundsLogged: number;
  readonly result: Readonly<Record<string, unknown>>;
}): TrainingSummary {
  const r = input.result;
  const version = typeof r.xgboostVersion === 'string' ? r.xgboostVersion : 'unknown';
  return {
    jobName: input.jobName,
    algorithm: `XGBoost ${version} (python3-xgboost)`,
    xgboostVersion: version,
    requestedImage: input.requestedImage,
    hyperparameters: { ...input.hyperparameters },
    roundsRun: input.roundsLogged,
    boostedRounds: num(r.boostedRounds),
    bestIteration: typeof r.bestIteration === 'number' ? r.bestIteration : undefined,
    nthread: num(r.nthread, 1),
    trainSeconds: num(r.seconds),
    trainRows: num(r.trainRows),
    validationRows: num(r.validationRows),
    features: num(r.numFeatures),
    metrics: { ...input.metrics },
  };
}

const f4 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(4));

/**
 * Lines describing the training (for the console and the report). `achievableAuc` is the AUC of the probability the
 * synthetic data was drawn from (local/demo/sample-data.ts `trueAuc`): no model can expect to rank better.
 */
export function describeTraining(s: TrainingSummary, achievableAuc?: number): string[] {
  const hp = Object.entries(s.hyperparameters)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const stop =
    s.bestIteration !== undefined && s.roundsRun < Number(s.hyperparameters.num_round ?? Number.NaN)
      ? `early stopping after ${s.roundsRun} rounds, best round ${s.bestIteration} (${s.boostedRounds} trees kept)`
      : `${s.roundsRun} rounds (${s.boostedRounds} trees)`;
  const lines = [
    `algorithm: ${s.algorithm}, the XGBoost line of ${s.requestedImage ?? 'SageMaker XGBoost 1.7-1'}`,
    `hyperparameters: ${hp}`,
    `${stop}; ${s.trainRows} train / ${s.validationRows} validation rows, ${s.features} features; ${s.nthread} threads, ${s.trainSeconds.toFixed(2)} s`,
    `train AUC ${f4(s.metrics['train:auc'])} · validation AUC ${f4(s.metrics['validation:auc'])} · validation logloss ${f4(s.metrics['validation:logloss'])}`,
  ];
  if (achievableAuc !== undefined) {
    const val = s.metrics['validation:auc'];
    lines.push(
      `achievable AUC of the synthetic data ≈ ${achievableAuc.toFixed(4)} (the generating probability's own AUC); validation AUC is ${val === undefined ? '-' : `${((val / achievableAuc) * 100).toFixed(1)}% of it`}`,
    );
  }
  return lines;
}
