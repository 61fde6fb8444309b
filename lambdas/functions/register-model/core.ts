import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GateFailedError, ValidationError } from '../../../contracts/errors';
import type { Evaluation, Registration, TrainingJob } from '../../../contracts/states/training';
import { createModel } from '../../domain/model-records';
import { createModelPackage } from '../../domain/registry';

/** Inputs of {@link registerModel}. */
export interface RegisterParams {
  readonly runId: string;
  /** Run start (ISO): packages created before it cannot belong to this run (narrows the retry lookup). */
  readonly startedAt: string;
  readonly codeVersion: string;
  readonly dataWindow: { readonly from: string; readonly to: string };
  readonly training: TrainingJob;
  readonly preprocessingUri: string;
  readonly statsUri: string;
  readonly evaluation: Pick<Evaluation, 'passed' | 'metrics' | 'reportUri'> &
    Partial<Pick<Evaluation, 'modelQualityUri' | 'lineageUri' | 'contractVersion' | 'trainingObjectCount'>>;
  readonly groupName: string;
  readonly imageUri: string;
  readonly transformInstanceTypes: readonly string[];
  readonly table: string;
}

/**
 * RegisterModel: create the model package (PendingManualApproval) and the model record `MODEL#<version>`, which also
 * sets `modelPackageArn`/`modelVersion` on the run — the link both ways. Idempotent: a retry finds the package of
 * this run and the existing model record.
 * @throws GateFailedError when called for a candidate that did not pass the gate (the ModelGate should prevent it)
 */
export async function registerModel(
  clients: { sageMaker: SageMakerClient; doc: DynamoDBDocumentClient },
  p: RegisterParams,
): Promise<Registration> {
  if (!p.evaluation.passed) {
    throw new GateFailedError(`Run ${p.runId}: the candidate did not pass the gate; it must not be registered`);
  }
  const auc = p.evaluation.metrics.auc;
  if (auc === undefined) throw new ValidationError(`Run ${p.runId}: no validation AUC to register`);
  const pkg = await createModelPackage(clients.sageMaker, {
    groupName: p.groupName,
    runId: p.runId,
    codeVersion: p.codeVersion,
    dataWindow: `${p.dataWindow.from}..${p.dataWindow.to}`,
    imageUri: p.imageUri,
    modelDataUrl: p.training.ModelArtifacts.S3ModelArtifacts,
    preprocessingUri: p.preprocessingUri,
    trainingStatsUri: p.statsUri,
    evaluationReportUri: p.evaluation.reportUri,
    ...(p.evaluation.modelQualityUri ? { modelQualityUri: p.evaluation.modelQualityUri } : {}),
    ...(p.evaluation.lineageUri && p.evaluation.contractVersion
      ? {
          lineage: {
            uri: p.evaluation.lineageUri,
            contractVersion: p.evaluation.contractVersion,
            trainingObjects: p.evaluation.trainingObjectCount ?? 0,
          },
        }
      : {}),
    metrics: { auc, logloss: p.evaluation.metrics.logloss },
    transformInstanceTypes: p.transformInstanceTypes,
    notBefore: new Date(Date.parse(p.startedAt) - 1000),
  });
  await createModel(clients.doc, p.table, {
    version: pkg.version,
    runId: p.runId,
    modelPackageArn: pkg.arn,
    attributes: {
      metrics: p.evaluation.metrics,
      codeVersion: p.codeVersion,
      dataWindow: { from: p.dataWindow.from, to: p.dataWindow.to },
      modelDataUrl: p.training.ModelArtifacts.S3ModelArtifacts,
      preprocessingUri: p.preprocessingUri,
      evaluationReportUri: p.evaluation.reportUri,
      ...(p.evaluation.modelQualityUri ? { modelQualityUri: p.evaluation.modelQualityUri } : {}),
      ...(p.evaluation.lineageUri ? { lineageUri: p.evaluation.lineageUri } : {}),
      ...(p.evaluation.contractVersion ? { contractVersion: p.evaluation.contractVersion } : {}),
    },
  });
  return { modelPackageArn: pkg.arn, version: pkg.version, created: pkg.created };
}
