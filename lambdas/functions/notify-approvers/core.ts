import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Evaluation, Registration } from '../../../contracts/states/training';
import { comparisonTable } from '../../domain/evaluation/table';

/** Inputs of {@link approvalMessage} / {@link notifyApprovers}. */
export interface NotifyParams {
  readonly runId: string;
  readonly registration: Registration;
  readonly evaluation: Pick<Evaluation, 'metrics' | 'production' | 'reportUri' | 'notes'> &
    Partial<Pick<Evaluation, 'summary' | 'comparison' | 'championNote' | 'modelQualityUri'>>;
  readonly groupName: string;
  readonly region: string;
  readonly topicArn: string;
}

/**
 * Console link to the registered version (SageMaker console → Model registry → group → version). The console opens
 * SageMaker Studio's model view where the status can be changed; the CLI lines below are equivalent.
 */
export function consoleLink(region: string, groupName: string, version: number): string {
  const host = region.startsWith('cn-') ? `${region}.console.amazonaws.cn` : `${region}.console.aws.amazon.com`;
  return `https://${host}/sagemaker/home?region=${region}#/model-registry/${encodeURIComponent(groupName)}/versions/${version}`;
}

const f = (n: number | undefined) => (n === undefined ? 'n/a' : n.toFixed(4));
const delta = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? '' : ` (${a - b >= 0 ? '+' : ''}${(a - b).toFixed(4)})`;

/** The metrics section: the side-by-side table on the same rows, or (older evaluations) the two headline figures. */
function metricLines(p: NotifyParams): string[] {
  const { summary, comparison } = p.evaluation;
  if (summary) {
    const table = comparisonTable(
      { ...summary.candidate, modelVersion: p.registration.version },
      summary.champion,
      comparison ?? null,
      { candidateRole: 'candidate' },
    );
    return ['Candidate vs Production on the same validation rows:', ...table.map((l) => `  ${l}`)];
  }
  const m = p.evaluation.metrics;
  const prod = p.evaluation.production;
  return [
    'Validation metrics (candidate vs Production):',
    prod
      ? `  AUC      ${f(m.auc)} vs ${f(prod.auc)} (version ${prod.version})${delta(m.auc, prod.auc)}`
      : `  AUC      ${f(m.auc)} (no Production model yet)`,
    prod
      ? `  logloss  ${f(m.logloss)} vs ${f(prod.logloss)}${delta(m.logloss, prod.logloss)}`
      : `  logloss  ${f(m.logloss)}`,
  ];
}

/** Subject and body of the approval request. */
export function approvalMessage(p: NotifyParams): { subject: string; body: string } {
  const { version, modelPackageArn } = p.registration;
  const m = p.evaluation.metrics;
  const lines = [
    `Model version ${version} of ${p.groupName} is waiting for approval (PendingManualApproval).`,
    '',
    `Training run:     ${p.runId}`,
    `Model package:    ${modelPackageArn}`,
    `Evaluation:       ${p.evaluation.reportUri}`,
    ...(p.evaluation.modelQualityUri ? [`Model quality:    ${p.evaluation.modelQualityUri}`] : []),
    '',
    ...metricLines(p),
    ...p.evaluation.notes.map((n) => `  note: ${n}`),
    '',
    `Compare: npx mlops-batch models compare ${version}${p.evaluation.production ? ` ${p.evaluation.production.version}` : ''}`,
    `Review in the console: ${consoleLink(p.region, p.groupName, version)}`,
    '',
    'Approve (makes it Production):',
    `  npx mlops-batch approve ${version}`,
    `  aws sagemaker update-model-package --region ${p.region} --model-package-arn ${modelPackageArn} --model-approval-status Approved --approval-description "<why>"`,
    'Reject:',
    `  npx mlops-batch reject ${version}`,
    `  aws sagemaker update-model-package --region ${p.region} --model-package-arn ${modelPackageArn} --model-approval-status Rejected --approval-description "<why>"`,
  ];
  // SNS email subjects: ASCII, no line breaks, < 100 characters.
  const subject = `[${p.groupName}] model version ${version} awaits approval (AUC ${f(m.auc)})`.slice(0, 99);
  return { subject, body: lines.join('\n') };
}

/** NotifyApprovers: publish the approval request to the approver topic. */
export async function notifyApprovers(sns: SNSClient, p: NotifyParams): Promise<{ messageId: string }> {
  const { subject, body } = approvalMessage(p);
  const res = await sns.send(
    new PublishCommand({
      TopicArn: p.topicArn,
      Subject: subject,
      Message: body,
      MessageAttributes: {
        modelVersion: { DataType: 'Number', StringValue: String(p.registration.version) },
        runId: { DataType: 'String', StringValue: p.runId },
      },
    }),
  );
  return { messageId: res.MessageId ?? '' };
}
