import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CompletedRun, Evaluation, Registration } from '../../../contracts/states/training';
import { completeRun } from '../../domain/tracking';

/**
 * CompleteRun: a registered model ends the run SUCCEEDED (the run ↔ model links were written by RegisterModel).
 * @returns the execution's output
 */
export async function completeRegisteredRun(
  doc: DynamoDBDocumentClient,
  table: string,
  p: { runId: string; registration: Registration; evaluation: Pick<Evaluation, 'metrics'> },
): Promise<CompletedRun> {
  await completeRun(doc, table, p.runId, {
    status: 'SUCCEEDED',
    fields: { outcome: 'registered' },
  });
  return {
    runId: p.runId,
    status: 'SUCCEEDED',
    modelPackageArn: p.registration.modelPackageArn,
    modelVersion: p.registration.version,
    metrics: p.evaluation.metrics,
  };
}

/** What the `GateFailed` Fail state reports (ErrorPath/CausePath). */
export interface GateFailure {
  readonly error: 'GateFailedError';
  readonly cause: string;
}

/**
 * RecordGateFailure: a candidate that failed the gate ends the run REJECTED with the reasons (no package is
 * registered). Returns the error and cause the `GateFailed` state fails the execution with.
 */
export async function completeRejectedRun(
  doc: DynamoDBDocumentClient,
  table: string,
  p: { runId: string; evaluation: Pick<Evaluation, 'reasons' | 'reportUri'> },
): Promise<GateFailure> {
  await completeRun(doc, table, p.runId, {
    status: 'REJECTED',
    fields: { outcome: 'gate-failed', rejectionReasons: p.evaluation.reasons },
  });
  return {
    error: 'GateFailedError',
    cause: `Model gate failed for run ${p.runId}: ${p.evaluation.reasons.join('; ')} (report ${p.evaluation.reportUri})`,
  };
}
