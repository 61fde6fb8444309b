import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { z } from 'zod';
import type { RunSummary } from '../../../contracts/states/batch';
import { RunIdSchema, RunSummarySchema, StepErrorSchema } from '../../../contracts/states/batch';

/** `Notify` (success) or `Alert` (failure) input. */
export const NotificationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('success'), runId: RunIdSchema, summary: RunSummarySchema }),
  z.object({ kind: z.literal('failure'), runId: RunIdSchema, error: StepErrorSchema }),
]);
export type Notification = z.infer<typeof NotificationSchema>;

/** What the state returns (and, for `Notify`, the execution's output). */
export interface NotificationResult {
  readonly runId: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly messageId: string;
  readonly summary?: RunSummary;
  readonly error?: { readonly Error: string; readonly Cause?: string };
}

const MAX_CAUSE_CHARS = 4000;

/** Step Functions wraps a Lambda error's Cause as JSON `{errorType, errorMessage, trace}`; show the message only. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '(no cause given)';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: use as is
  }
  return cause.length > MAX_CAUSE_CHARS ? `${cause.slice(0, MAX_CAUSE_CHARS)}…` : cause;
}

/** What a truncated run's summary says about the objects it left. */
function truncatedNote(s: RunSummary): string {
  return s.continuesAs
    ? ` (more are due; run ${s.continuesAs} continues with them)`
    : ' (more are due; the next scheduled run takes them)';
}

/** The chain's lines: only when this run continues another or is continued (a run on its own has no chain). */
function chainLines(s: RunSummary): string[] {
  if (!s.totals || !s.iterations || (s.iterations === 1 && !s.continuesAs)) return [];
  const t = s.totals;
  return [
    `Backlog chain: run ${s.iterations}${s.continuedFrom ? `, continuing ${s.continuedFrom}` : ''}; so far ${t.objects} objects scored, ${t.objectsQuarantined} quarantined, ${t.rowsLoaded} scores loaded`,
  ];
}

/** Subject and body of the message (Subject: <= 100 ASCII characters, no newlines). */
export function render(n: Notification): { subject: string; body: string } {
  if (n.kind === 'success' && n.summary.outcome === 'ALL_QUARANTINED') {
    const s = n.summary;
    const subject = `Batch run ${n.runId}: nothing scored, all ${s.objectsQuarantined} object(s) QUARANTINED`;
    const body = [
      `Batch inference run ${n.runId} completed WITHOUT scoring: no feature object had a usable row.`,
      `Feature objects quarantined: ${s.objectsQuarantined} (ledger status QUARANTINED; later runs skip them until a new version arrives)`,
      `Rows read: ${s.rowsIn}; quarantined: ${s.rowsQuarantined}; no transform ran, no score was loaded.`,
      `Action: inspect the validation report${s.validationReportUri ? ` ${s.validationReportUri}` : ''} and re-deliver corrected files.`,
    ].join('\n');
    return { subject: subject.slice(0, 100), body };
  }
  if (n.kind === 'success') {
    const s = n.summary;
    const subject = `Batch run ${n.runId} succeeded: ${s.rowsLoaded} scores, model v${s.modelVersion}`;
    const body = [
      `Batch inference run ${n.runId} succeeded.`,
      `Model version: ${s.modelVersion}`,
      `Feature objects scored: ${s.objects}${s.truncated ? truncatedNote(s) : ''}`,
      ...(s.objectsQuarantined > 0 ? [`Feature objects quarantined (no usable row): ${s.objectsQuarantined}`] : []),
      `Rows read: ${s.rowsIn}; used: ${s.rowsUsed}; quarantined: ${s.rowsQuarantined}; scores loaded: ${s.rowsLoaded}`,
      ...(s.rowsQuarantined > 0 && s.validationReportUri ? [`Validation report: ${s.validationReportUri}`] : []),
      ...chainLines(s),
    ].join('\n');
    return { subject: subject.slice(0, 100), body };
  }
  const subject = `Batch run ${n.runId} FAILED: ${n.error.Error}`;
  const body = [
    `Batch inference run ${n.runId} failed in error ${n.error.Error}.`,
    `Cause: ${causeMessage(n.error.Cause)}`,
    'The ledger is unchanged: the next run retries the same feature objects. The batch lock was released.',
  ].join('\n');
  return { subject: subject.replace(/[\r\n]+/g, ' ').slice(0, 100), body };
}

/** Publish the run's outcome to the alert topic. */
export async function notify(sns: SNSClient, topicArn: string, n: Notification): Promise<NotificationResult> {
  const { subject, body } = render(n);
  const res = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: subject,
      Message: body,
      MessageAttributes: {
        kind: { DataType: 'String', StringValue: n.kind },
        runId: { DataType: 'String', StringValue: n.runId },
      },
    }),
  );
  const messageId = res.MessageId ?? '';
  return n.kind === 'success'
    ? { runId: n.runId, status: 'SUCCEEDED', messageId, summary: n.summary }
    : {
        runId: n.runId,
        status: 'FAILED',
        messageId,
        error: { Error: n.error.Error, Cause: causeMessage(n.error.Cause) },
      };
}
