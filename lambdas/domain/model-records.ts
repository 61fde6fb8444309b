/**
 * Model records in the `Pipeline` table (item `MODEL#<version>`): the training run and the model package, the current
 * approval status and the approval history `[{status, by, at, reason}]` (who was Production when). Listed through
 * `gsi1` (`MODELS`, padded version). Creating a model record also links the run to it (`modelPackageArn`,
 * `modelVersion`) in the same transaction.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, ValidationError } from '../../contracts/errors';
import { GSI1_NAME, MODELS_GSI_PK, modelGsiSk, modelKey, runKey } from '../../contracts/table-keys';
import { decodePageToken, encodePageToken, isConditionalFailure, isTransactionCancelled } from '../platform/dynamo';
import type { ApprovalStatus } from './registry';
import { checkFields, getRun, stripKeys } from './tracking';

export interface ApprovalEntry {
  readonly status: ApprovalStatus;
  /** Who changed it, when the event tells (e.g. the IAM principal); @default - not recorded */
  readonly by?: string;
  /** ISO time of the change. */
  readonly at: string;
  readonly reason?: string;
  /** Source event id; the same id is recorded once (EventBridge delivers at least once). @default - no dedup */
  readonly eventId?: string;
}

export interface ModelRecord {
  readonly version: number;
  readonly runId: string;
  readonly modelPackageArn: string;
  readonly approvalStatus: ApprovalStatus;
  readonly approvals: ApprovalEntry[];
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly [field: string]: unknown;
}

export interface CreateModelInput {
  readonly version: number;
  readonly runId: string;
  readonly modelPackageArn: string;
  /** @default 'PendingManualApproval' */
  readonly approvalStatus?: ApprovalStatus;
  /** Extra fields (metrics, codeVersion …). @default {} */
  readonly attributes?: Record<string, unknown>;
  /** @default - now */
  readonly createdAt?: Date;
}

/**
 * Create the model record for a registered package and link the run to it (`modelPackageArn`, `modelVersion` on
 * the run) in one transaction. Idempotent: a retry with the same package returns the existing record.
 * @throws NotFoundError when the run does not exist; ConflictError when the version is recorded for another package
 */
export async function createModel(
  doc: DynamoDBDocumentClient,
  tableName: string,
  input: CreateModelInput,
): Promise<ModelRecord> {
  if (!Number.isInteger(input.version) || input.version < 1) {
    throw new ValidationError(`createModel: version must be a positive integer, got ${input.version}`);
  }
  if (!input.runId || !input.modelPackageArn)
    throw new ValidationError('createModel: runId and modelPackageArn are required');
  const attributes = input.attributes ?? {};
  checkFields(attributes, 'createModel');
  const createdAt = (input.createdAt ?? new Date()).toISOString();
  const approvalStatus = input.approvalStatus ?? 'PendingManualApproval';
  const record: ModelRecord = {
    ...attributes,
    version: input.version,
    runId: input.runId,
    modelPackageArn: input.modelPackageArn,
    approvalStatus,
    approvals: [{ status: approvalStatus, at: createdAt, reason: 'registered' }],
    createdAt,
    updatedAt: createdAt,
  };
  try {
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: tableName,
              Item: { ...modelKey(input.version), gsi1pk: MODELS_GSI_PK, gsi1sk: modelGsiSk(input.version), ...record },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: tableName,
              Key: runKey(input.runId),
              UpdateExpression: 'SET modelPackageArn = :arn, modelVersion = :v, updatedAt = :now',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':arn': input.modelPackageArn, ':v': input.version, ':now': createdAt },
            },
          },
        ],
      }),
    );
    return record;
  } catch (err) {
    if (!isTransactionCancelled(err)) throw err;
    const existing = await getModel(doc, tableName, input.version);
    if (existing) {
      if (existing.modelPackageArn === input.modelPackageArn && existing.runId === input.runId) return existing;
      throw new ConflictError(
        `Model version ${input.version} is already recorded for ${existing.modelPackageArn} (run ${existing.runId})`,
      );
    }
    if (!(await getRun(doc, tableName, input.runId))) throw new NotFoundError(`Run ${input.runId} not found`);
    throw err;
  }
}

/** A model record, or undefined. */
export async function getModel(
  doc: DynamoDBDocumentClient,
  tableName: string,
  version: number,
): Promise<ModelRecord | undefined> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: modelKey(version), ConsistentRead: true }));
  return res.Item ? (stripKeys(res.Item) as ModelRecord) : undefined;
}

/** Model records, newest version first (or oldest first with `ascending`), paged. */
export async function listModels(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: { limit?: number; nextToken?: string; ascending?: boolean } = {},
): Promise<{ models: ModelRecord[]; nextToken?: string }> {
  const res = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: GSI1_NAME,
      KeyConditionExpression: 'gsi1pk = :g',
      ExpressionAttributeValues: { ':g': MODELS_GSI_PK },
      ScanIndexForward: options.ascending === true,
      Limit: options.limit ?? 20,
      ExclusiveStartKey: decodePageToken(options.nextToken),
    }),
  );
  return {
    models: (res.Items ?? []).map((i) => stripKeys(i) as ModelRecord),
    ...(res.LastEvaluatedKey ? { nextToken: encodePageToken(res.LastEvaluatedKey) } : {}),
  };
}

/**
 * Append an approval-history entry and set the current approval status. An entry with an `eventId` already
 * recorded is not appended again (`appended: false`).
 * @throws NotFoundError when the model record does not exist
 */
export async function appendApproval(
  doc: DynamoDBDocumentClient,
  tableName: string,
  version: number,
  entry: ApprovalEntry,
  now: Date = new Date(),
): Promise<{ appended: boolean; model: ModelRecord }> {
  if (!entry.at) throw new ValidationError('appendApproval: entry.at is required');
  const clean: ApprovalEntry = {
    status: entry.status,
    at: entry.at,
    ...(entry.by ? { by: entry.by } : {}),
    ...(entry.reason ? { reason: entry.reason } : {}),
    ...(entry.eventId ? { eventId: entry.eventId } : {}),
  };
  const values: Record<string, unknown> = {
    ':entry': [clean],
    ':status': entry.status,
    ':now': now.toISOString(),
  };
  let update =
    'SET approvals = list_append(if_not_exists(approvals, :none), :entry), approvalStatus = :status, updatedAt = :now';
  let condition = 'attribute_exists(pk)';
  values[':none'] = [];
  if (entry.eventId) {
    update += ' ADD approvalEventIds :ids';
    condition += ' AND NOT contains(approvalEventIds, :id)';
    values[':ids'] = new Set([entry.eventId]);
    values[':id'] = entry.eventId;
  }
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: modelKey(version),
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { appended: true, model: stripKeys(res.Attributes ?? {}) as ModelRecord };
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const model = await getModel(doc, tableName, version);
    if (!model) throw new NotFoundError(`Model version ${version} not found`);
    return { appended: false, model };
  }
}
