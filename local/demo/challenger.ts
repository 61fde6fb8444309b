/**
 * The second training of `npm run local`: a challenger trained on the later labelled snapshot, evaluated by the
 * Training state machine against the Production model (the first training, approved) on exactly the candidate's
 * validation rows. It stays PendingManualApproval; later phases may approve or reject it.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type EvaluationReport, EvaluationReportSchema } from '../../contracts/evaluation';
import { reportKeys } from '../../contracts/s3-layout';
import { newRunId as runId } from '../../contracts/states/names';
import { reportTable } from '../../lambdas/domain/evaluation/table';
import { executeLocal, findMachine } from '../runtime/executions';
import type { RunResult } from '../runtime/sfn-runner';
import { LocalRunError, numOf } from './checks';
import { type Demo, printStates } from './phases';

/** What the challenger training produced. */
export interface ChallengerFacts {
  readonly run: RunResult;
  /** Registered version (PendingManualApproval); undefined when the gate rejected it. */
  readonly modelVersion: number | undefined;
  /** Its evaluation document (both models on the same rows). */
  readonly evaluation: EvaluationReport;
}

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** Read a run's evaluation document back from S3, checked against its contract. */
export async function readEvaluation(demo: Demo, trainingRunId: string): Promise<EvaluationReport> {
  const res = await demo.clients.s3.send(
    new GetObjectCommand({ Bucket: demo.artifactsBucket, Key: reportKeys(trainingRunId).evaluation }),
  );
  return EvaluationReportSchema.parse(JSON.parse((await res.Body?.transformToString()) ?? '{}'));
}

/**
 * Train a challenger on `date` (a later snapshot than the champion's) and check that it was evaluated against
 * Production `productionVersion` on the same rows.
 */
export async function trainChallenger(demo: Demo, date: string, productionVersion: number): Promise<ChallengerFacts> {
  const { progress, resources, clients, env, region } = demo;
  const run = await progress.step(
    `Second training on the later snapshot ${date}: challenger vs Production version ${productionVersion} (${findMachine(resources, 'Training').name})`,
    async () => {
      const res = await executeLocal(
        'training',
        { resources, s3: clients.s3, sageMaker: clients.sageMaker, env, region },
        {
          input: { trigger: 'local', note: 'npm run local: challenger', dataWindow: { from: date, to: date } },
          name: runId('train'),
          onEvent: () => undefined,
        },
      );
      printStates(progress.print, res);
      return res;
    },
    (r) => `${r.status} along ${r.path.join(' → ')}`,
  );
  // A gate rejection is a valid outcome here (the run ends FAILED with GateFailedError); anything else is not.
  if (run.status !== 'SUCCEEDED' && run.error?.Error !== 'GateFailedError') {
    throw new LocalRunError(`Challenger training ${run.name} ${run.status}: ${run.error?.Error}: ${run.error?.Cause}`);
  }
  const evaluation = await readEvaluation(demo, run.name);
  for (const line of reportTable(evaluation)) progress.print(`      · ${line}`);
  const champion = evaluation.champion;
  progress.check(
    'challenger and Production scored on the same validation rows',
    champion !== null &&
      champion.modelVersion === productionVersion &&
      champion.rows === evaluation.candidate.rows &&
      champion.positives === evaluation.candidate.positives,
    champion
      ? `${evaluation.candidate.rows} rows each, ${champion.positives} positives; AUC ${evaluation.candidate.auc?.toFixed(4)} vs ${champion.auc?.toFixed(4)}`
      : `no champion figures (${evaluation.championNote ?? 'no note'})`,
  );
  const output = obj(run.output);
  return { run, modelVersion: numOf(output.modelVersion), evaluation };
}
