/**
 * Distributed Map states, run locally. aws-local-stepfunctions 3.0 runs an inline Map only (no ItemReader,
 * ItemBatcher or ResultWriter), so before a definition runs, each Map whose processor mode is `DISTRIBUTED` is
 * replaced by a Task state of the same name (same InputPath, ResultSelector, ResultPath, OutputPath, Retry, Catch,
 * Next/End) whose local handler does what Step Functions does:
 *
 * - ItemReader `s3:getObject` with `ReaderConfig.InputType` `JSON` (an array) or `JSONL` (one value a line), and
 *   `MaxItems`; its Parameters (`Bucket.$`, `Key.$`) are evaluated on the state input. Without an ItemReader the
 *   items are at `ItemsPath` (default `$`).
 * - ItemSelector (with `$$.Map.Item.Value` / `Index`), MaxConcurrency and the item processor: run by
 *   aws-local-stepfunctions itself, as an inline Map in a child machine, one item per child run, with the same task
 *   handlers (so overrides by state name apply inside the items too).
 * - Failures: each item fails or succeeds on its own; when the failed items exceed `ToleratedFailureCount` /
 *   `ToleratedFailurePercentage` (default 0) the state fails with `States.ExceedToleratedFailureThreshold`, after the
 *   results are written, as in AWS. As in AWS, the Cause says only that the threshold was exceeded (locally with the
 *   counts): the items' own errors and causes are in FAILED_0.json, where RecordFailure reads the first one
 *   (lambdas/data/map-run-failure.ts) — the same code path locally and on AWS.
 * - ResultWriter `s3:putObject` (`Bucket`, `Prefix`, each literal or a `.$` path or intrinsic such as the workflows'
 *   `States.Format('…/{}/', $$.Execution.Name)`): `<Prefix>/<map run id>/manifest.json`, `SUCCEEDED_0.json`,
 *   `FAILED_0.json` in AWS's shapes (each result an object with `Input`/`Output` as JSON strings, `Error`/`Cause` for
 *   a failed one, `Status`, names and dates; the manifest's `ResultFiles` lists them by status with their sizes); the
 *   state's result is `{ MapRunArn, ResultWriterDetails: { Bucket, Key } }`. Without a ResultWriter the result is the
 *   array of item outputs.
 *
 * Not emulated (rejected with a message naming the state): ItemBatcher, readers other than a JSON/JSONL S3 object
 * (S3 listings, CSV, manifests), `WriterConfig`, and the `*Path` forms of the tolerated-failure fields. Results are
 * written in one file of each status, not split at AWS's file size.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { JsonValue } from './lambda-invoke';

type StateJson = Record<string, unknown>;
type Definition = { StartAt?: string; States?: Record<string, StateJson> };

/** What a child run needs of the parent execution: task handlers, overrides and the context object. */
export interface DistributedMapContext {
  readonly handlers: Record<string, (input: JsonValue) => Promise<JsonValue>>;
  /** The environment the runner gives its handlers (AWS_ENDPOINT_URL is the S3 the Map reads and writes). */
  readonly env?: Readonly<Record<string, string>>;
  readonly runOptions: {
    readonly waitTimeOverrides: Record<string, number>;
    readonly retryIntervalOverrides: Record<string, number>;
  };
  readonly context: Record<string, unknown> & {
    readonly Execution: { readonly Name: string };
    readonly StateMachine: { readonly Id: string; readonly Name: string };
  };
}

const isDistributed = (s: StateJson): boolean =>
  s.Type === 'Map' &&
  ((s.ItemProcessor as { ProcessorConfig?: { Mode?: string } } | undefined)?.ProcessorConfig?.Mode === 'DISTRIBUTED' ||
    s.ItemReader !== undefined ||
    s.ResultWriter !== undefined);

const KEPT = ['Comment', 'InputPath', 'ResultSelector', 'ResultPath', 'OutputPath', 'Retry', 'Catch', 'Next', 'End'];

/** Resource of the Task state that stands in for a Distributed Map locally (never a real ARN). */
export const localMapResource = (name: string): string => `local:distributed-map:${name}`;

/**
 * The definition with every Distributed Map replaced by a stand-in Task state, and the original Map states by name
 * (a Distributed Map inside a Distributed Map's processor is replaced too).
 */
export function replaceDistributedMaps(def: Definition): { definition: Definition; maps: Record<string, StateJson> } {
  const maps: Record<string, StateJson> = {};
  const walk = (d: Definition): Definition => {
    const States: Record<string, StateJson> = {};
    for (const [name, state] of Object.entries(d.States ?? {})) {
      if (isDistributed(state)) {
        const processor = walk(state.ItemProcessor as Definition);
        maps[name] = { ...state, ItemProcessor: processor };
        States[name] = {
          Type: 'Task',
          Resource: localMapResource(name),
          ...Object.fromEntries(KEPT.filter((k) => k in state).map((k) => [k, state[k]])),
        };
      } else if (state.Type === 'Map' && state.ItemProcessor) {
        States[name] = { ...state, ItemProcessor: walk(state.ItemProcessor as Definition) };
      } else if (Array.isArray(state.Branches)) {
        States[name] = { ...state, Branches: (state.Branches as Definition[]).map(walk) };
      } else States[name] = state;
    }
    return { ...d, States };
  };
  return { definition: walk(def), maps };
}

/** S3 as the state machine's role sees it: the emulator when AWS_ENDPOINT_URL is set (any credentials do there). */
function s3(ctx: DistributedMapContext): S3Client {
  const endpoint = ctx.env?.AWS_ENDPOINT_URL || process.env.AWS_ENDPOINT_URL || undefined;
  const region = process.env.AWS_REGION || 'us-east-1';
  if (!endpoint) return new S3Client({ region });
  const credentials = process.env.AWS_ACCESS_KEY_ID ? undefined : { accessKeyId: 'local', secretAccessKey: 'local' };
  return new S3Client({ endpoint, forcePathStyle: true, region, ...(credentials ? { credentials } : {}) });
}

/** Run a one-state child machine and return its output (how paths and intrinsics are evaluated: by the library). */
async function runChild(ctx: DistributedMapContext, definition: Definition, input: JsonValue): Promise<JsonValue> {
  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false, checkPaths: true },
  });
  const exec = machine.run(input, {
    overrides: { taskResourceLocalHandlers: ctx.handlers, ...ctx.runOptions },
    context: ctx.context as never,
  });
  return (await exec.result) as JsonValue;
}

/** `Parameters` (with `.$` paths) evaluated against `input`, by a Pass state. */
const evaluate = (ctx: DistributedMapContext, parameters: unknown, input: JsonValue) =>
  runChild(ctx, { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: parameters, End: true } } }, input);

/** The items of a Distributed Map: from its ItemReader (S3 JSON/JSONL object) or at ItemsPath of the input. */
async function readItems(ctx: DistributedMapContext, name: string, map: StateJson, input: JsonValue) {
  const reader = map.ItemReader as
    | { Resource: string; ReaderConfig?: { InputType?: string; MaxItems?: number }; Parameters?: unknown }
    | undefined;
  if (!reader) {
    const path = (map.ItemsPath as string | undefined) ?? '$';
    const items = await runChild(
      ctx,
      { StartAt: 'P', States: { P: { Type: 'Pass', InputPath: path, End: true } } },
      input,
    );
    if (!Array.isArray(items)) throw new Error(`State ${name}: ItemsPath ${path} is not an array`);
    return items;
  }
  const type = reader.ReaderConfig?.InputType;
  if (!/:states:::s3:getObject$/.test(reader.Resource) || (type !== 'JSON' && type !== 'JSONL')) {
    throw new Error(
      `State ${name}: only an ItemReader s3:getObject with InputType JSON or JSONL runs locally (got ${reader.Resource}, ${type})`,
    );
  }
  const { Bucket, Key } = (await evaluate(ctx, reader.Parameters, input)) as { Bucket: string; Key: string };
  let text: string;
  try {
    const res = await s3(ctx).send(new GetObjectCommand({ Bucket, Key }));
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (e) {
    const err = new Error(`State ${name}: reading items from s3://${Bucket}/${Key} failed: ${(e as Error).message}`);
    err.name = 'States.ItemReaderFailed';
    throw err;
  }
  let items: unknown;
  try {
    items =
      type === 'JSON'
        ? JSON.parse(text)
        : text
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l));
  } catch (e) {
    const err = new Error(`State ${name}: s3://${Bucket}/${Key} is not ${type}: ${(e as Error).message}`);
    err.name = 'States.ItemReaderFailed';
    throw err;
  }
  if (!Array.isArray(items)) {
    const err = new Error(`State ${name}: s3://${Bucket}/${Key} does not hold a JSON array`);
    err.name = 'States.ItemReaderFailed';
    throw err;
  }
  const max = reader.ReaderConfig?.MaxItems;
  return (max ? items.slice(0, max) : items) as JsonValue[];
}

/** One item's run, as ResultWriter records it. */
interface ItemRun {
  readonly input: JsonValue;
  readonly output?: JsonValue;
  readonly error?: { Error: string; Cause: string };
  readonly startedAt: string;
  readonly stoppedAt: string;
}

const ITEMS = '__distributedMapItems';

const inlineMap = (over: string, extra: StateJson, processor: Definition): StateJson => ({
  Type: 'Map',
  ItemsPath: `$.${over}`,
  ...extra,
  ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: processor.StartAt, States: processor.States },
  End: true,
});

/**
 * Run every item through the processor, each on its own (a failed item does not stop the others). ItemSelector and
 * MaxConcurrency are the library's own: an inline Map selects the items, a second runs each in a Parallel that
 * catches its failure, so results are recorded per item.
 */
async function runItems(ctx: DistributedMapContext, map: StateJson, input: JsonValue, items: JsonValue[]) {
  const base = input !== null && typeof input === 'object' && !Array.isArray(input) ? input : {};
  const identity: Definition = { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } };
  const selected = map.ItemSelector
    ? ((await runChild(
        ctx,
        { StartAt: 'S', States: { S: inlineMap(ITEMS, { ItemSelector: map.ItemSelector }, identity) } },
        { ...base, [ITEMS]: items },
      )) as JsonValue[])
    : items;
  const processor = map.ItemProcessor as Definition;
  const perItem: Definition = {
    StartAt: 'Item',
    States: {
      Item: {
        Type: 'Parallel',
        Branches: [{ StartAt: processor.StartAt, States: processor.States }],
        ResultSelector: { 'output.$': '$[0]' },
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
        End: true,
      },
      Failed: { Type: 'Pass', Parameters: { 'error.$': '$' }, End: true },
    },
  };
  const concurrency = map.MaxConcurrency !== undefined ? { MaxConcurrency: map.MaxConcurrency } : {};
  const startedAt = new Date().toISOString();
  const results = (await runChild(
    ctx,
    { StartAt: 'M', States: { M: inlineMap(ITEMS, concurrency, perItem) } },
    { [ITEMS]: selected },
  )) as { output?: JsonValue; error?: { Error?: string; Cause?: string } }[];
  const stoppedAt = new Date().toISOString();
  return results.map(
    (r, i): ItemRun => ({
      input: selected[i] ?? null,
      ...(r.error
        ? { error: { Error: r.error.Error ?? 'States.TaskFailed', Cause: r.error.Cause ?? '' } }
        : { output: r.output ?? null }),
      startedAt,
      stoppedAt,
    }),
  );
}

/** AWS's record of one child execution in a ResultWriter file. */
function childRecord(ctx: DistributedMapContext, mapRunArn: string, run: ItemRun, i: number): Record<string, unknown> {
  const name = `${randomUUID()}`;
  const executionArn = `${mapRunArn.replace(':mapRun:', ':execution:')}:${name}`;
  return {
    ExecutionArn: executionArn,
    Input: JSON.stringify(run.input),
    InputDetails: { Included: true },
    Name: name,
    ...(run.output !== undefined ? { Output: JSON.stringify(run.output), OutputDetails: { Included: true } } : {}),
    ...(run.error ? { Error: run.error.Error, Cause: run.error.Cause } : {}),
    RedriveCount: 0,
    RedriveStatus: 'NOT_REDRIVABLE',
    StartDate: run.startedAt,
    StateMachineArn: ctx.context.StateMachine.Id,
    Status: run.error ? 'FAILED' : 'SUCCEEDED',
    StopDate: run.stoppedAt,
    Index: i,
  };
}

async function putJson(ctx: DistributedMapContext, bucket: string, key: string, value: unknown): Promise<void> {
  await s3(ctx).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(value), ContentType: 'application/json' }),
  );
}

/** Write the ResultWriter files; returns the state's result `{ MapRunArn, ResultWriterDetails }`. */
async function writeResults(
  ctx: DistributedMapContext,
  name: string,
  map: StateJson,
  input: JsonValue,
  mapRunArn: string,
  runs: readonly ItemRun[],
): Promise<JsonValue> {
  const writer = map.ResultWriter as { Resource?: string; Parameters?: unknown; WriterConfig?: unknown };
  if (writer.WriterConfig !== undefined || !/:states:::s3:putObject$/.test(writer.Resource ?? '')) {
    throw new Error(`State ${name}: only a ResultWriter s3:putObject without WriterConfig runs locally`);
  }
  const { Bucket, Prefix } = (await evaluate(ctx, writer.Parameters, input)) as { Bucket: string; Prefix?: string };
  const folder = `${(Prefix ?? '').replace(/\/+$/, '')}${Prefix ? '/' : ''}${mapRunArn.split(':').pop()}/`;
  const records = runs.map((r, i) => childRecord(ctx, mapRunArn, r, i));
  const files: Record<'SUCCEEDED' | 'FAILED' | 'PENDING', { Key: string; Size: number }[]> = {
    SUCCEEDED: [],
    FAILED: [],
    PENDING: [],
  };
  for (const status of ['SUCCEEDED', 'FAILED'] as const) {
    const list = records.filter((r) => r.Status === status).map(({ Index: _i, ...r }) => r);
    if (list.length === 0) continue;
    const key = `${folder}${status}_0.json`;
    await putJson(ctx, Bucket, key, list);
    files[status].push({ Key: key, Size: Buffer.byteLength(JSON.stringify(list)) });
  }
  const manifestKey = `${folder}manifest.json`;
  await putJson(ctx, Bucket, manifestKey, { DestinationBucket: Bucket, MapRunArn: mapRunArn, ResultFiles: files });
  return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket, Key: manifestKey } };
}

/** Whether the failed items exceed the tolerated count or percentage (both default 0, as in AWS). */
function exceedsTolerance(map: StateJson, name: string, failed: number, total: number): boolean {
  if (map.ToleratedFailureCountPath !== undefined || map.ToleratedFailurePercentagePath !== undefined) {
    throw new Error(`State ${name}: ToleratedFailure*Path is not emulated locally; use the literal fields`);
  }
  if (failed === 0) return false;
  const count = map.ToleratedFailureCount as number | undefined;
  const pct = map.ToleratedFailurePercentage as number | undefined;
  if (count === undefined && pct === undefined) return true;
  return (count === undefined || failed > count) && (pct === undefined || (failed / total) * 100 > pct);
}

/** The local handler of the stand-in Task state of Distributed Map `name`. */
export function distributedMapHandler(
  ctx: DistributedMapContext,
  name: string,
  map: StateJson,
): (input: JsonValue) => Promise<JsonValue> {
  return async (input) => {
    if (map.ItemBatcher !== undefined) throw new Error(`State ${name}: ItemBatcher is not emulated locally`);
    const items = await readItems(ctx, name, map, input);
    const runs = await runItems(ctx, map, input, items);
    const label = (map.Label as string | undefined) ?? name;
    const smArn = ctx.context.StateMachine.Id;
    const mapRunArn = `${smArn.replace(':stateMachine:', ':mapRun:')}/${label}:${randomUUID()}`;
    const result = map.ResultWriter ? await writeResults(ctx, name, map, input, mapRunArn, runs) : null;
    const failed = runs.filter((r) => r.error);
    if (exceedsTolerance(map, name, failed.length, runs.length)) {
      const err = new Error(
        `The specified tolerated failure threshold was exceeded (${failed.length} of ${runs.length} items failed)`,
      );
      err.name = 'States.ExceedToleratedFailureThreshold';
      throw err;
    }
    return result ?? (runs.map((r) => r.output ?? null) as JsonValue);
  };
}
