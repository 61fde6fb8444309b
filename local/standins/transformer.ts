/**
 * Local stand-in for `arn:aws:states:::sagemaker:createTransformJob.sync`.
 *
 * Honours the batch-transform contract for CSV: a ManifestFile (or S3Prefix) input, `SplitType: Line` (one record per
 * line, empty lines skipped), `DataProcessing` (InputFilter → model → JoinSource Input → OutputFilter, JSONPath array
 * subscripts on the CSV columns: `$`, `$[i]`, `$[i,j,-1]`, `$[a:b]`, `$[a:]`, `$[:b]`, `$[a:b:step]` and unions of
 * those), one `<input name>.out` per input object under `S3OutputPath`. The model is an XGBoost 1.7 `model.tar.gz`
 * (`xgboost-model` inside, as SageMaker's XGBoost writes it), found through DescribeModel (PrimaryContainer.Image and
 * ModelDataUrl); XGBoost 1.7 on this machine (local/standins/xgboost_job.py) predicts each input's filtered rows, as
 * the algorithm's container does for `text/csv` (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html:
 * CSV inference input has no label column). The job is recorded in the emulator (CreateTransformJob) and the result
 * has DescribeTransformJob's shape. Not emulated: the container runtime, instance types and counts, MaxPayloadInMB
 * batching (every object is predicted whole).
 */

import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateTransformJobCommand,
  DescribeModelCommand,
  DescribeTransformJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { parse } from 'csv-parse/sync';
import { ValidationError } from '../../contracts/errors';
import { parseS3Uri } from '../../contracts/s3-layout';
import { isXgboost17Image, jobDir, unpackModel } from './model';
import { listKeys } from './trainer';
import { requireXgboost, runXgboostScript } from './xgboost';

// -- JSONPath subscripts over CSV columns --------------------------------------------------------------------------

type Selector = { kind: 'index'; i: number } | { kind: 'slice'; start?: number; end?: number; step: number };

/** A parsed DataProcessing filter; `null` selectors mean `$` (the whole row). */
export interface ColumnFilter {
  readonly expression: string;
  readonly selectors: readonly Selector[] | null;
}

/**
 * Parse a SageMaker DataProcessing JSONPath filter for CSV rows.
 * @throws ValidationError naming the expression when it is not `$` or `$[…]` with indexes/slices
 */
export function parseColumnFilter(expression: string | undefined): ColumnFilter {
  const expr = (expression ?? '$').trim();
  if (expr === '$') return { expression: expr, selectors: null };
  const m = /^\$\[(.+)\]$/.exec(expr);
  if (!m)
    throw new ValidationError(
      `DataProcessing filter "${expr}": only $ and $[...] with indexes and slices apply to CSV`,
    );
  const selectors = m[1]!.split(',').map((part): Selector => {
    const p = part.trim();
    const int = (s: string | undefined, what: string): number | undefined => {
      if (s === undefined || s.trim() === '') return undefined;
      if (!/^-?\d+$/.test(s.trim()))
        throw new ValidationError(`DataProcessing filter "${expr}": ${what} "${s}" is not an integer`);
      return Number(s.trim());
    };
    if (p.includes(':')) {
      const [a, b, c, extra] = p.split(':');
      if (extra !== undefined) throw new ValidationError(`DataProcessing filter "${expr}": bad slice "${p}"`);
      const step = int(c, 'step') ?? 1;
      if (step === 0) throw new ValidationError(`DataProcessing filter "${expr}": slice step 0`);
      return { kind: 'slice', start: int(a, 'start'), end: int(b, 'end'), step };
    }
    const i = int(p, 'index');
    if (i === undefined) throw new ValidationError(`DataProcessing filter "${expr}": empty subscript`);
    return { kind: 'index', i };
  });
  return { expression: expr, selectors };
}

/** Apply a filter to one row of columns (JSONPath semantics: out-of-range indexes select nothing). */
export function applyColumnFilter(filter: ColumnFilter, row: readonly string[]): string[] {
  if (filter.selectors === null) return [...row];
  const n = row.length;
  const out: string[] = [];
  for (const s of filter.selectors) {
    if (s.kind === 'index') {
      const i = s.i < 0 ? n + s.i : s.i;
      if (i >= 0 && i < n) out.push(row[i]!);
      continue;
    }
    const norm = (v: number) => (v < 0 ? Math.max(0, n + v) : Math.min(n, v));
    if (s.step > 0) {
      const start = s.start === undefined ? 0 : norm(s.start);
      const end = s.end === undefined ? n : norm(s.end);
      for (let i = start; i < end; i += s.step) out.push(row[i]!);
    } else {
      const start = s.start === undefined ? n - 1 : Math.min(n - 1, s.start < 0 ? n + s.start : s.start);
      const end = s.end === undefined ? -1 : s.end < 0 ? Math.max(-1, n + s.end) : s.end;
      const back = -s.step;
      for (let i = start; i > end; i -= back) if (i >= 0) out.push(row[i]!);
    }
  }
  return out;
}

// -- the job ----------------------------------------------------------------------------------------------------------

/** The parts of a CreateTransformJob request the stand-in reads (the state's resolved Parameters). */
export interface TransformJobRequest {
  readonly TransformJobName: string;
  readonly ModelName: string;
  readonly TransformInput: {
    readonly DataSource: {
      readonly S3DataSource: { readonly S3DataType: 'ManifestFile' | 'S3Prefix'; readonly S3Uri: string };
    };
    readonly ContentType?: string;
    readonly SplitType?: string;
    readonly CompressionType?: string;
  };
  readonly TransformOutput: { readonly S3OutputPath: string; readonly Accept?: string; readonly AssembleWith?: string };
  readonly DataProcessing?: {
    readonly InputFilter?: string;
    readonly JoinSource?: 'Input' | 'None';
    readonly OutputFilter?: string;
  };
  readonly [key: string]: unknown;
}

export interface TransformJobDescription {
  readonly TransformJobName: string;
  readonly TransformJobArn: string;
  readonly TransformJobStatus: 'Completed';
  readonly ModelName: string;
  readonly TransformStartTime: string;
  readonly TransformEndTime: string;
  readonly [key: string]: unknown;
}

export interface TransformedObject {
  readonly input: string;
  readonly output: string;
  readonly records: number;
}

export interface TransformerDeps {
  readonly s3: S3Client;
  readonly sageMaker: SageMakerClient;
  readonly now?: () => Date;
  /** Called after the job with each output object and every score written (for the local run's report). */
  readonly onTransformed?: (info: {
    jobName: string;
    objects: readonly TransformedObject[];
    scores: readonly number[];
  }) => void;
}

async function readText(s3: S3Client, uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!res.Body) throw new Error(`${uri} has no body`);
  return res.Body.transformToString('utf8');
}

/** Input objects (full S3 URIs) and the name each output takes (relative to the manifest prefix or the S3 prefix). */
async function inputObjects(s3: S3Client, request: TransformJobRequest): Promise<{ uri: string; relative: string }[]> {
  const src = request.TransformInput.DataSource.S3DataSource;
  if (src.S3DataType === 'ManifestFile') {
    const manifest = JSON.parse(await readText(s3, src.S3Uri)) as unknown;
    if (!Array.isArray(manifest) || manifest.length < 1)
      throw new ValidationError(`Manifest ${src.S3Uri} is not a JSON array`);
    const [head, ...names] = manifest as unknown[];
    const prefix = (head as { prefix?: unknown } | undefined)?.prefix;
    if (typeof prefix !== 'string' || !prefix.startsWith('s3://')) {
      throw new ValidationError(`Manifest ${src.S3Uri}: the first element must be {"prefix": "s3://..."}`);
    }
    return names.map((n, i) => {
      if (typeof n !== 'string' || n === '')
        throw new ValidationError(`Manifest ${src.S3Uri}: entry ${i + 1} is not an object name`);
      return { uri: `${prefix}${n}`, relative: n };
    });
  }
  if (src.S3DataType === 'S3Prefix') {
    const { bucket, key: prefix } = parseS3Uri(src.S3Uri, { prefix: true });
    const keys = await listKeys(s3, src.S3Uri);
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    return keys.map((k) => ({ uri: `s3://${bucket}/${k}`, relative: k.slice(base.length) }));
  }
  throw new ValidationError(`S3DataType ${String(src.S3DataType)} is not supported locally`);
}

/** The model's `xgboost-model`, extracted into `dir`. */
async function loadModel(deps: TransformerDeps, modelName: string, dir: string): Promise<string> {
  const d = await deps.sageMaker.send(new DescribeModelCommand({ ModelName: modelName }));
  const container = d.PrimaryContainer ?? d.Containers?.[0];
  const image = container?.Image;
  const url = container?.ModelDataUrl;
  if (!isXgboost17Image(image)) {
    throw new ValidationError(
      `Model ${modelName} uses image ${image ?? '(none)'}; the local transformer runs XGBoost 1.7 models only (image …/sagemaker-xgboost:1.7-1)`,
    );
  }
  if (!url) throw new ValidationError(`Model ${modelName} has no ModelDataUrl`);
  const { bucket, key } = parseS3Uri(url);
  const obj = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!obj.Body) throw new Error(`${url} has no body`);
  const archive = path.join(dir, 'model.tar.gz');
  writeFileSync(archive, Buffer.from(await obj.Body.transformToByteArray()));
  return unpackModel(archive, dir, url);
}

function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  return (parse(line) as string[][])[0] ?? [];
}

function formatScore(p: number): string {
  return String(Math.round(p * 1e8) / 1e8);
}

/** One input object's records after InputFilter: what the model is given. */
export interface PreparedInput {
  readonly records: readonly { readonly cols: readonly string[]; readonly line: number }[];
  /** Headerless numeric CSV lines, one per record (the model's input). */
  readonly features: readonly string[];
  /** Features per record (all equal); 0 without records. */
  readonly width: number;
  readonly inputFilter: string;
}

/** Split an object's lines into records (empty lines skipped) and apply InputFilter. Exported for tests. */
export function prepareLines(
  lines: readonly string[],
  processing: TransformJobRequest['DataProcessing'],
  source: string,
): PreparedInput {
  const inputFilter = parseColumnFilter(processing?.InputFilter);
  const records: { cols: string[]; line: number }[] = [];
  lines.forEach((l, i) => {
    const line = l.endsWith('\r') ? l.slice(0, -1) : l;
    if (line.trim() !== '') records.push({ cols: splitCsvLine(line), line: i + 1 });
  });
  let width = 0;
  const features = records.map(({ cols, line }, r) => {
    const filtered = applyColumnFilter(inputFilter, cols);
    if (r === 0) width = filtered.length;
    if (filtered.length !== width) {
      throw new ValidationError(
        `${source} line ${line}: ${filtered.length} features after InputFilter ${inputFilter.expression}, line ${records[0]!.line} has ${width}`,
      );
    }
    filtered.forEach((v, c) => {
      if (v.trim() === '' || !Number.isFinite(Number(v))) {
        throw new ValidationError(`${source} line ${line} feature ${c + 1}: "${v}" is not a number`);
      }
    });
    return filtered.join(',');
  });
  return { records, features, width, inputFilter: inputFilter.expression };
}

/** JoinSource and OutputFilter: one output line per record. Exported for tests. */
export function assembleOutput(
  prepared: PreparedInput,
  scores: readonly number[],
  processing: TransformJobRequest['DataProcessing'],
): string[] {
  if (scores.length !== prepared.records.length) {
    throw new Error(`${scores.length} predictions for ${prepared.records.length} records`);
  }
  const outputFilter = parseColumnFilter(processing?.OutputFilter);
  const join = processing?.JoinSource ?? 'None';
  return prepared.records.map(({ cols }, i) => {
    const prediction = [formatScore(scores[i]!)];
    const joined = join === 'Input' ? [...cols, ...prediction] : prediction;
    return applyColumnFilter(outputFilter, joined).join(',');
  });
}

/**
 * Predict every prepared input with XGBoost in one process (the model loads once per job).
 * @throws ValidationError naming the input whose feature count differs from the model's
 */
export async function predictInputs(
  modelFile: string,
  inputs: readonly { readonly source: string; readonly prepared: PreparedInput }[],
  dir: string,
): Promise<number[][]> {
  const parts = inputs.map((input, i) => ({
    features: path.join(dir, `part-${i}.csv`),
    scores_out: path.join(dir, `part-${i}.pred`),
    width: input.prepared.width,
    rows: input.prepared.features.length,
  }));
  const todo = parts.filter((p) => p.rows > 0);
  for (const [i, p] of parts.entries()) {
    if (p.rows > 0) writeFileSync(p.features, `${inputs[i]!.prepared.features.join('\n')}\n`);
  }
  if (todo.length > 0) {
    const request = path.join(dir, 'predict.json');
    const result = path.join(dir, 'predict-result.json');
    writeFileSync(request, JSON.stringify({ model: modelFile, parts: todo }));
    const run = await runXgboostScript('predict', request, result, () => {
      try {
        return JSON.parse(readFileSync(result, 'utf8')) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    });
    if (typeof run.result.error === 'string') {
      const e = JSON.parse(run.result.error) as { part: number; got: number; expected: number };
      const input = inputs[parts.indexOf(todo[e.part]!)]!;
      throw new ValidationError(
        `${input.source}: ${e.got} features after InputFilter ${input.prepared.inputFilter}, the model expects ${e.expected}`,
      );
    }
  }
  return parts.map((p) =>
    p.rows > 0 ? readFileSync(p.scores_out, 'utf8').split('\n').filter(Boolean).map(Number) : [],
  );
}

/** Run the transform job locally and return DescribeTransformJob's shape. */
export async function runTransformJob(
  request: TransformJobRequest,
  deps: TransformerDeps,
): Promise<TransformJobDescription> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const split = request.TransformInput.SplitType ?? 'None';
  if (split !== 'Line') throw new ValidationError(`SplitType ${split} is not supported locally (use Line)`);
  if ((request.TransformInput.CompressionType ?? 'None') !== 'None') {
    throw new ValidationError(`CompressionType ${request.TransformInput.CompressionType} is not supported locally`);
  }
  requireXgboost();
  const work = jobDir('transform');
  const objects: TransformedObject[] = [];
  const allScores: number[] = [];
  try {
    const modelFile = await loadModel(deps, request.ModelName, work.dir);
    const inputs: { uri: string; relative: string; source: string; prepared: PreparedInput }[] = [];
    for (const input of await inputObjects(deps.s3, request)) {
      const text = await readText(deps.s3, input.uri);
      const prepared = prepareLines(text.split('\n'), request.DataProcessing, input.uri);
      inputs.push({ ...input, source: input.uri, prepared });
    }
    const scores = await predictInputs(modelFile, inputs, work.dir);
    const out = parseS3Uri(request.TransformOutput.S3OutputPath, { prefix: true });
    const outPrefix = out.key === '' || out.key.endsWith('/') ? out.key : `${out.key}/`;
    for (const [i, input] of inputs.entries()) {
      const output = assembleOutput(input.prepared, scores[i]!, request.DataProcessing);
      const key = `${outPrefix}${input.relative}.out`;
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: out.bucket,
          Key: key,
          Body: output.length ? `${output.join('\n')}\n` : '',
          ContentType: request.TransformOutput.Accept ?? 'text/csv',
        }),
      );
      objects.push({ input: input.uri, output: `s3://${out.bucket}/${key}`, records: output.length });
      for (const s of scores[i]!) allScores.push(s);
    }
  } finally {
    work.dispose();
  }

  const { TransformJobName, ...rest } = request;
  await deps.sageMaker.send(
    new CreateTransformJobCommand({ ...(rest as Record<string, unknown>), TransformJobName } as never),
  );
  const { $metadata: _m, ...recorded } = await deps.sageMaker.send(
    new DescribeTransformJobCommand({ TransformJobName }),
  );
  const ended = now();
  deps.onTransformed?.({ jobName: TransformJobName, objects, scores: allScores });
  return {
    ...(JSON.parse(JSON.stringify(recorded)) as Record<string, unknown>),
    TransformJobName,
    TransformJobArn: recorded.TransformJobArn ?? '',
    TransformJobStatus: 'Completed',
    ModelName: request.ModelName,
    TransformStartTime: started.toISOString(),
    TransformEndTime: ended.toISOString(),
  };
}

/** The `Transform` state override for {@link runStateMachine}. */
export const transformOverride =
  (deps: TransformerDeps) =>
  (input: unknown): Promise<unknown> =>
    runTransformJob(input as TransformJobRequest, deps);
