import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ValidationError } from '../../../contracts/errors';
import { appendApproval, createModel, getModel } from '../../domain/model-records';
import { syncProduction } from '../../domain/production';
import {
  type ApprovalStatus,
  describePackage,
  findPreviousApproved,
  findProductionPackage,
  versionFromArn,
} from '../../domain/registry';
import { getRun } from '../../domain/tracking';

/**
 * EventBridge "SageMaker Model Package State Change" event (source `aws.sagemaker`). The detail carries the package
 * as DescribeModelPackage shows it; `LastModifiedBy` names who changed it when SageMaker knows (Studio user profile
 * or IAM identity).
 */
export const ModelPackageStateChangeSchema = EventBridgeSchema.extend({
  source: z.literal('aws.sagemaker'),
  'detail-type': z.literal('SageMaker Model Package State Change'),
  detail: z
    .object({
      ModelPackageGroupName: z.string().min(1),
      ModelPackageArn: z.string().min(1),
      ModelPackageVersion: z.number().int().positive().optional(),
      ModelApprovalStatus: z.enum(['Approved', 'Rejected', 'PendingManualApproval']),
      ApprovalDescription: z.string().optional(),
      LastModifiedTime: z.union([z.string(), z.number()]).optional(),
      LastModifiedBy: z
        .object({
          UserProfileName: z.string().optional(),
          UserProfileArn: z.string().optional(),
          IamIdentity: z
            .object({ Arn: z.string().optional(), PrincipalId: z.string().optional() })
            .passthrough()
            .optional(),
        })
        .passthrough()
        .optional(),
      CustomerMetadataProperties: z.record(z.string(), z.string()).optional(),
    })
    .passthrough(),
});
export type ModelPackageStateChange = z.infer<typeof ModelPackageStateChangeSchema>;

/** What the handler did. */
export type ApprovalAction =
  | 'ignored-other-group'
  | 'unchanged'
  | 'untracked'
  | 'recorded'
  | 'approved'
  | 'approved-batch-started'
  | 'rollback'
  | 'rollback-batch-started';

export interface ApprovalOutcome {
  readonly action: ApprovalAction;
  readonly version: number;
  readonly status: ApprovalStatus;
  /** Production version after the change (null = none). */
  readonly productionVersion?: number | null;
  /** Execution ARN of the started BatchInference run. */
  readonly batchExecutionArn?: string;
  readonly detail?: string;
}

export interface ApprovalParams {
  readonly groupName: string;
  readonly table: string;
  /** Config `batch.startOnApproval`. */
  readonly startBatchOnApproval: boolean;
  /** BatchInference state machine (required when `startBatchOnApproval`). */
  readonly batchStateMachineArn?: string;
}

function whoChanged(d: ModelPackageStateChange['detail']): string | undefined {
  return d.LastModifiedBy?.UserProfileName ?? d.LastModifiedBy?.IamIdentity?.Arn ?? d.LastModifiedBy?.UserProfileArn;
}

function whenChanged(e: ModelPackageStateChange): string {
  const t = e.detail.LastModifiedTime;
  if (typeof t === 'number') return new Date(t < 1e12 ? t * 1000 : t).toISOString();
  if (typeof t === 'string' && !Number.isNaN(Date.parse(t))) return new Date(t).toISOString();
  return e.time && !Number.isNaN(Date.parse(e.time)) ? new Date(e.time).toISOString() : new Date().toISOString();
}

/** Execution name of the batch run started for an approval: deterministic, so a redelivered event starts nothing. */
export function approvalExecutionName(version: number, eventId: string): string {
  return `approval-v${version}-${eventId.replace(/[^A-Za-z0-9-_]/g, '').slice(0, 40)}`.slice(0, 80);
}

/** Execution name of the batch run started for a rollback (to `version`). */
export function rollbackExecutionName(version: number, eventId: string): string {
  return `rollback-v${version}-${eventId.replace(/[^A-Za-z0-9-_]/g, '').slice(0, 40)}`.slice(0, 80);
}

/**
 * Handle one state change of a model package of this group:
 * - records the change on `MODEL#<version>` (status, by whom when the event tells, at, description), once per event;
 *   a version registered outside the pipeline whose run is unknown is reported as `untracked`;
 * - every recorded change updates the Production pointer (lambdas/domain/production.ts) from the registry;
 * - `Approved` of the new Production version optionally starts a BatchInference run (config `batch.startOnApproval`);
 * - `Rejected` of the Production version is a rollback: Production becomes the previous Approved version (newest
 *   Approved), recorded on both versions, and (same setting) a run starts that rescores with it.
 */
export async function handleApprovalEvent(
  clients: { sageMaker: SageMakerClient; doc: DynamoDBDocumentClient; sfn: SFNClient },
  p: ApprovalParams,
  event: ModelPackageStateChange,
): Promise<ApprovalOutcome> {
  const d = event.detail;
  const status = d.ModelApprovalStatus;
  const version = d.ModelPackageVersion ?? versionFromArn(d.ModelPackageArn);
  if (d.ModelPackageGroupName !== p.groupName) {
    return { action: 'ignored-other-group', version, status, detail: d.ModelPackageGroupName };
  }
  if (p.startBatchOnApproval && !p.batchStateMachineArn) {
    throw new ValidationError('batch.startOnApproval is on but BATCH_STATE_MACHINE_ARN is not set');
  }

  let model = await getModel(clients.doc, p.table, version);
  if (!model) {
    // Registered outside RegisterModel (console, SDK) or the record was lost: link it when its run is known.
    const runId =
      d.CustomerMetadataProperties?.runId ?? (await describePackage(clients.sageMaker, d.ModelPackageArn)).runId;
    if (!runId || !(await getRun(clients.doc, p.table, runId))) {
      return {
        action: 'untracked',
        version,
        status,
        detail: `model package ${d.ModelPackageArn} has no tracked training run (runId ${runId ?? 'missing'}); change not recorded`,
      };
    }
    model = await createModel(clients.doc, p.table, { version, runId, modelPackageArn: d.ModelPackageArn });
  }
  const previous = model.approvalStatus;
  if (previous === status) return { action: 'unchanged', version, status };

  const at = whenChanged(event);
  const by = whoChanged(d);
  const production = await findProductionPackage(clients.sageMaker, p.groupName);
  const productionVersion = production?.version ?? null;

  if (status === 'Rejected' && previous === 'Approved' && (productionVersion === null || productionVersion < version)) {
    // This version was Production (newest Approved); Production falls back to the previous Approved one.
    const fallback = await findPreviousApproved(clients.sageMaker, p.groupName, version);
    const note = fallback
      ? `rollback: Production was version ${version}, is now version ${fallback.version}`
      : `rollback: Production was version ${version}; no earlier Approved version, so there is no Production model now`;
    await appendApproval(clients.doc, p.table, version, {
      status,
      at,
      by,
      reason: [d.ApprovalDescription, note].filter(Boolean).join(' | '),
      eventId: event.id,
    });
    if (fallback && (await getModel(clients.doc, p.table, fallback.version))) {
      await appendApproval(clients.doc, p.table, fallback.version, {
        status: 'Approved',
        at,
        reason: `Production again after version ${version} was rejected (rollback)`,
        eventId: `${event.id}:rollback`,
      });
    }
    await syncProduction(clients.sageMaker, clients.doc, p.table, p.groupName, note, new Date(at));
    const started = fallback ? await startBatch(clients.sfn, p, 'rollback', fallback.version, event.id) : undefined;
    return {
      action: started ? 'rollback-batch-started' : 'rollback',
      version,
      status,
      productionVersion: fallback?.version ?? null,
      detail: note,
      ...(started ? { batchExecutionArn: started } : {}),
    };
  }

  const { appended } = await appendApproval(clients.doc, p.table, version, {
    status,
    at,
    by,
    reason: d.ApprovalDescription,
    eventId: event.id,
  });
  // Every recorded change: the read API and FindUnscored follow the pointer (a rejected candidate joins its list).
  await syncProduction(
    clients.sageMaker,
    clients.doc,
    p.table,
    p.groupName,
    `${status} version ${version}${by ? ` by ${by}` : ''}`,
    new Date(at),
  );
  if (status !== 'Approved') return { action: 'recorded', version, status, productionVersion };
  if (!appended || productionVersion !== version) return { action: 'approved', version, status, productionVersion };
  const started = await startBatch(clients.sfn, p, 'approval', version, event.id);
  if (!started) return { action: 'approved', version, status, productionVersion };
  return { action: 'approved-batch-started', version, status, productionVersion, batchExecutionArn: started };
}

/**
 * Start the BatchInference run a Production change asks for (config `batch.startOnApproval`), named after the event
 * so a redelivered event starts nothing. Returns the execution ARN, or undefined when off or already started.
 */
async function startBatch(
  sfn: SFNClient,
  p: ApprovalParams,
  trigger: 'approval' | 'rollback',
  version: number,
  eventId: string,
): Promise<string | undefined> {
  if (!p.startBatchOnApproval) return undefined;
  try {
    const res = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: p.batchStateMachineArn,
        name:
          trigger === 'approval' ? approvalExecutionName(version, eventId) : rollbackExecutionName(version, eventId),
        input: JSON.stringify({ trigger, modelVersion: version }),
      }),
    );
    return res.executionArn;
  } catch (e) {
    if (e instanceof ExecutionAlreadyExists) return undefined;
    throw e;
  }
}
