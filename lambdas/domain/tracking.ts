/**
 * Run records in the `Pipeline` table (item `RUN#<runId>`): kind, status, trigger, code version, params, data window,
 * then whatever the steps add (row counts, stats, metrics, gate decision, modelPackageArn …), and on failure `error`
 * {error, cause}. Listed per kind newest first through `gsi1` (`RUNS#<kind>`, `<startedAt>#<runId>`).
 * Model records (`MODEL#<version>`) live in model-records.ts and share the field rules below.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConflictError, NotFoundError, ValidationError } from '../../contracts/errors';
import { GSI1_NAME, type RunKind, runKey, runsGsiPk } from '../../contracts/table-keys';
import { decodePageToken, encodePageToken, isConditionalFailure, setClause } from '../platform/dynamo';

/**
 * A run's status. TIMED_OUT and ABORTED are recorded only by {@link markRunEnded}: the execution ended that way without
 * running its failure path (a state-machine timeout, a StopExecution, a killed local process).
 */
export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'REJECTED' | 'TIMED_OUT' | 'ABORTED';

export interface RunRecord {
  readonly runId: string;
  readonly kind: RunKind;
  readonly status: RunStatus;
  readonly trigger: string;
  readonly codeVersion: string;
  readonly params: Record<string, unknown>;
  /** Data window (training partitions, batch date range). */
  readonly window?: Record<string, unknown>;
  readonly startedAt: string;
  /** The execution the run record belongs to (`$$.Execution.Id`); with `startedAt` it tells a retry from a reuse. */
  readonly executionArn?: string;
  readonly updatedAt: string;
  readonly completedAt?: string;
  /** Set by failRun. */
  readonly error?: { readonly error: string; readonly cause?: string };
  /** Any further field a step recorded with updateRun/completeRun (rowCounts, stats, metrics, gate, …). */
  readonly [field: string]: unknown;
}

export interface CreateRunInput {
  readonly runId: string;
  readonly kind: RunKind;
  readonly trigger: string;
  readonly codeVersion: string;
  /** @default {} */
  readonly params?: Record<string, unknown>;
  /** @default - none */
  readonly window?: Record<string, unknown>;
  /** @default - now */
  readonly startedAt?: Date;
  /**
   * The execution creating the run (`$$.Execution.Id`). Given, only the same execution (same ARN and start) gets the
   * existing record back; any other is refused.
   * @default - none: any caller of the same kind gets the existing record back
   */
  readonly executionArn?: string;
}

/** Attributes that key or index an item; never settable through update/complete. */
const PROTECTED = new Set([
  'pk',
  'sk',
  'gsi1pk',
  'gsi1sk',
  'runId',
  'kind',
  'startedAt',
  'executionArn',
  'status',
  'updatedAt',
  'completedAt',
  'error',
  'version',
  'approvals',
  'approvalStatus',
  'approvalEventIds',
]);

/** An item without its key and index attributes (what callers see). */
export function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, approvalEventIds: _e, ...rest } = item;
  return rest;
}

/** Refuse key, status and index fields, and names that are not plain identifiers. */
export function checkFields(fields: Record<string, unknown>, where: string): void {
  for (const k of Object.keys(fields)) {
    if (PROTECTED.has(k)) throw new ValidationError(`${where}: field "${k}" cannot be set here`);
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(k)) throw new ValidationError(`${where}: invalid field name "${k}"`);
  }
}

/**
 * Create a RUNNING run record, only when the run id is new (conditional put). Idempotent for a retried StartRun: when
 * the run exists with the same kind and was created by the same execution (`executionArn` and `startedAt`), the
 * existing record is returned unchanged. Any other existing record is left as it is.
 * @throws ConflictError when the run id is already used (by another kind, or by another execution)
 */
export async function createRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  input: CreateRunInput,
): Promise<RunRecord> {
  if (!input.runId) throw new ValidationError('createRun: runId is empty');
  const startedAt = (input.startedAt ?? new Date()).toISOString();
  const record: RunRecord = {
    runId: input.runId,
    kind: input.kind,
    status: 'RUNNING',
    trigger: input.trigger,
    codeVersion: input.codeVersion,
    params: input.params ?? {},
    ...(input.window ? { window: input.window } : {}),
    startedAt,
    ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    updatedAt: startedAt,
  };
  try {
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...runKey(input.runId),
          gsi1pk: runsGsiPk(input.kind),
          gsi1sk: `${startedAt}#${input.runId}`,
          ...record,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return record;
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const existing = await getRun(doc, tableName, input.runId);
    const sameExecution =
      existing?.executionArn === input.executionArn && (!input.executionArn || existing?.startedAt === startedAt);
    if (existing && existing.kind === input.kind && sameExecution) return existing;
    throw new ConflictError(
      `Run id ${input.runId} is already used by ${existing ? `the ${existing.kind} run started ${existing.startedAt} (${existing.status})` : 'another run'}; ` +
        'a run id names one run: start this one under a new id (that run is left as it was)',
    );
  }
}

/** A run record, or undefined. */
export async function getRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
): Promise<RunRecord | undefined> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: runKey(runId), ConsistentRead: true }));
  return res.Item ? (stripKeys(res.Item) as RunRecord) : undefined;
}

/** A run record. @throws NotFoundError */
export async function requireRun(doc: DynamoDBDocumentClient, tableName: string, runId: string): Promise<RunRecord> {
  const run = await getRun(doc, tableName, runId);
  if (!run) throw new NotFoundError(`Run ${runId} not found`);
  return run;
}

/**
 * Set fields on a run (row counts, stats, metrics, gate decision, modelPackageArn …). Top-level fields are replaced.
 * @throws ValidationError for key/status fields (use completeRun/failRun), NotFoundError when the run does not exist
 */
export async function updateRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  fields: Record<string, unknown>,
  now: Date = new Date(),
): Promise<RunRecord> {
  checkFields(fields, 'updateRun');
  const { names, values, sets } = setClause(fields, 'f');
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: runKey(runId),
        UpdateExpression: `SET ${[...sets, 'updatedAt = :now'].join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: { ...values, ':now': now.toISOString() },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stripKeys(res.Attributes ?? {}) as RunRecord;
  } catch (err) {
    if (isConditionalFailure(err)) throw new NotFoundError(`Run ${runId} not found`);
    throw err;
  }
}

/**
 * Finish a run: status SUCCEEDED (or REJECTED: a training run whose model failed the gate), completedAt, and
 * optional final fields. Idempotent for a retry (same status again).
 * @throws NotFoundError when the run does not exist; ConflictError when it already ended with another status
 */
export async function completeRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  options: { status?: 'SUCCEEDED' | 'REJECTED'; fields?: Record<string, unknown>; now?: Date } = {},
): Promise<RunRecord> {
  const fields = options.fields ?? {};
  checkFields(fields, 'completeRun');
  const status = options.status ?? 'SUCCEEDED';
  const now = (options.now ?? new Date()).toISOString();
  const { names, values, sets } = setClause(fields, 'f');
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: runKey(runId),
        UpdateExpression: `SET ${[...sets, '#status = :status', 'updatedAt = :now', 'completedAt = :now'].join(', ')}`,
        ConditionExpression: 'attribute_exists(pk) AND (#status = :running OR #status = :status)',
        ExpressionAttributeNames: { ...names, '#status': 'status' },
        ExpressionAttributeValues: { ...values, ':status': status, ':running': 'RUNNING', ':now': now },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stripKeys(res.Attributes ?? {}) as RunRecord;
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const cur = await getRun(doc, tableName, runId);
    if (!cur) throw new NotFoundError(`Run ${runId} not found`);
    throw new ConflictError(`Run ${runId} already ended with status ${cur.status}; cannot mark it ${status}`);
  }
}

/** Which execution records a failure (`$$.Execution.Id`, `$$.Execution.StartTime`). */
export interface FailingExecution {
  readonly arn: string;
  readonly startedAt: string;
}

/**
 * Record a failure: status FAILED, `error` {error, cause}, completedAt. Works on every exit path: when the run
 * record does not exist yet (StartRun itself failed) it is created, provided `kind` is given. With `execution`, only
 * a record of that execution (or none) is written: a run record another execution created under the same run id is
 * left as it was.
 * @throws NotFoundError when the run does not exist and no kind is given; ConflictError when the record belongs to
 * another execution
 */
export async function failRun(
  doc: DynamoDBDocumentClient,
  tableName: string,
  runId: string,
  failure: { error: string; cause?: string; kind?: RunKind; execution?: FailingExecution; now?: Date },
): Promise<RunRecord> {
  if (!runId) throw new ValidationError('failRun: runId is empty');
  const now = (failure.now ?? new Date()).toISOString();
  const exec = failure.execution;
  const execStart = exec ? new Date(exec.startedAt).toISOString() : now;
  // Step Functions causes can be long (stack traces); keep the item far below 400 KB.
  const error = {
    error: failure.error.slice(0, 256),
    ...(failure.cause !== undefined ? { cause: failure.cause.slice(0, 8192) } : {}),
  };
  const sets = ['#status = :failed', '#error = :error', 'updatedAt = :now', 'completedAt = :now'];
  const values: Record<string, unknown> = { ':failed': 'FAILED', ':error': error, ':now': now };
  if (failure.kind) {
    sets.push(
      'kind = if_not_exists(kind, :kind)',
      'gsi1pk = if_not_exists(gsi1pk, :g)',
      'gsi1sk = if_not_exists(gsi1sk, :gs)',
      'startedAt = if_not_exists(startedAt, :started)',
      'runId = if_not_exists(runId, :runId)',
      '#params = if_not_exists(#params, :empty)',
    );
    Object.assign(values, {
      ':kind': failure.kind,
      ':g': runsGsiPk(failure.kind),
      ':gs': `${execStart}#${runId}`,
      ':started': execStart,
      ':runId': runId,
      ':empty': {},
    });
  }
  if (exec) {
    sets.push('executionArn = if_not_exists(executionArn, :exec)');
    Object.assign(values, { ':exec': exec.arn, ':started': execStart });
  }
  const condition = exec
    ? `${failure.kind ? 'attribute_not_exists(pk) OR ' : ''}(executionArn = :exec AND startedAt = :started)`
    : failure.kind
      ? undefined
      : 'attribute_exists(pk)';
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: runKey(runId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ...(condition ? { ConditionExpression: condition } : {}),
        ExpressionAttributeNames: {
          '#status': 'status',
          '#error': 'error',
          ...(failure.kind ? { '#params': 'params' } : {}),
        },
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stripKeys(res.Attributes ?? {}) as RunRecord;
  } catch (err) {
    if (!isConditionalFailure(err)) throw err;
    const cur = exec ? await getRun(doc, tableName, runId) : undefined;
    if (!cur) throw new NotFoundError(`Run ${runId} not found (and no kind given to create it)`);
    throw new ConflictError(
      `Run ${runId} belongs to another execution (the ${cur.kind} run started ${cur.startedAt}, ${cur.status}); left as it was`,
    );
  }
}

/** Runs of one kind, newest first, paged (`nextToken` is opaque). */
export async function listRuns(
  doc: DynamoDBDocumentClient,
  tableName: string,
  kind: RunKind,
  options: { limit?: number; nextToken?: string } = {},
): Promise<{ runs: RunRecord[]; nextToken?: string }> {
  const res = await doc.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: GSI1_NAME,
      KeyConditionExpression: 'gsi1pk = :g',
      ExpressionAttributeValues: { ':g': runsGsiPk(kind) },
      ScanIndexForward: false,
      Limit: options.limit ?? 20,
      ExclusiveStartKey: decodePageToken(options.nextToken),
    }),
  );
  return {
    runs: (res.Items ?? []).map((i) => stripKeys(i) as RunRecord),
    ...(res.LastEvaluatedKey ? { nextToken: encodePageToken(res.LastEvaluatedKey) } : {}),
  };
}

/**
 * Record how an execution ended that never ran its failure path (a state-machine timeout, a StopExecution, a killed
 * local process): status TIMED_OUT, ABORTED or FAILED, `error` {error: 'ExecutionEnded', cause}, completedAt. Only a
 * RUNNING record of that very execution is changed; anything else is left as it is (returns undefined).
 */
export async function markRunEnded(
  doc: DynamoDBDocumentClient,
  tableName: string,
  run: Pick<RunRecord, 'runId' | 'executionArn' | 'startedAt'>,
  ended: { status: 'FAILED' | 'TIMED_OUT' | 'ABORTED'; cause: string; now?: Date },
): Promise<RunRecord | undefined> {
  if (!run.executionArn) return undefined;
  const now = (ended.now ?? new Date()).toISOString();
  try {
    const res = await doc.send(
      new UpdateCommand({
        TableName: tableName,
        Key: runKey(run.runId),
        UpdateExpression: 'SET #status = :status, #error = :error, updatedAt = :now, completedAt = :now',
        ConditionExpression: '#status = :running AND executionArn = :exec AND startedAt = :started',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':status': ended.status,
          ':error': { error: 'ExecutionEnded', cause: ended.cause.slice(0, 8192) },
          ':now': now,
          ':running': 'RUNNING',
          ':exec': run.executionArn,
          ':started': run.startedAt,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return stripKeys(res.Attributes ?? {}) as RunRecord;
  } catch (err) {
    if (isConditionalFailure(err)) return undefined;
    throw err;
  }
}
