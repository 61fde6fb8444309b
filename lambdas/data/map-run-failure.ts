import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { mapRunsPrefix, s3Uri } from '../../contracts/s3-layout';

/**
 * The first failed item of a failed Distributed Map run, read from the files its ResultWriter left in S3.
 *
 * A Distributed Map whose failed items exceed its tolerated failure threshold fails with
 * `States.ExceedToleratedFailureThreshold`; the Catch sees only that. The items' own errors are in the map run's
 * ResultWriter files: `<prefix>/<map run id>/manifest.json` lists the result files by status (`ResultFiles.FAILED:
 * [{ Key, Size }]`) and each `FAILED_<n>.json` is a JSON array of the failed child executions (`Error`, `Cause`,
 * `Input`, `ExecutionArn`, …). The workflows write each execution's map runs under {@link mapRunsPrefix}, so one
 * listing per prefix finds them.
 *
 * Best effort by design: this runs in the failure path, so every problem (no file, a malformed one, S3 refusing) is
 * returned as `problem`, never thrown — the caller then keeps the map's own error.
 */

/** One failed item as RecordFailure reports it. */
export interface FailedMapItem {
  /** The map's label (the state name in this project), from the map run ARN `…:mapRun:<machine>/<label>:<id>`. */
  readonly map?: string;
  readonly error: string;
  readonly cause?: string;
  /** The FAILED_<n>.json it was read from. */
  readonly resultsUri: string;
}

/** Result of {@link findFailedMapItem}: the item, or why none was found. */
export type FailedMapItemLookup =
  | { readonly item: FailedMapItem; readonly problem?: undefined }
  | { readonly item?: undefined; readonly problem: string };

/** Result files larger than this are not read (a failure path must not risk the Lambda's memory). */
export const MAX_FAILED_FILE_BYTES = 8 * 1024 * 1024;

/** A parsed `manifest.json`: the map run and its FAILED result files. */
export interface MapRunManifest {
  readonly mapRunArn?: string;
  readonly failed: readonly { readonly key: string; readonly size?: number }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parse a ResultWriter `manifest.json`; undefined when it is not one. */
export function parseMapRunManifest(text: string): MapRunManifest | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed.ResultFiles)) return undefined;
  const failed = parsed.ResultFiles.FAILED ?? [];
  if (!Array.isArray(failed)) return undefined;
  return {
    ...(typeof parsed.MapRunArn === 'string' ? { mapRunArn: parsed.MapRunArn } : {}),
    failed: failed
      .filter((f): f is Record<string, unknown> => isRecord(f) && typeof f.Key === 'string' && f.Key !== '')
      .map((f) => ({ key: f.Key as string, ...(typeof f.Size === 'number' ? { size: f.Size } : {}) })),
  };
}

/**
 * The first failed child execution of a `FAILED_<n>.json` (a JSON array; JSON Lines are accepted too, as
 * `WriterConfig.OutputType: JSONL` writes them): its `Error` and `Cause`. Undefined when there is none.
 */
export function firstFailedExecution(text: string): { error: string; cause?: string } | undefined {
  let records: unknown[];
  try {
    const parsed: unknown = JSON.parse(text);
    records = Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    try {
      records = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as unknown);
    } catch {
      return undefined;
    }
  }
  for (const r of records) {
    if (isRecord(r) && typeof r.Error === 'string' && r.Error !== '') {
      return { error: r.Error, ...(typeof r.Cause === 'string' ? { cause: r.Cause } : {}) };
    }
  }
  return undefined;
}

/** `…:mapRun:<machine>/<label>:<id>` → `<label>`. */
export function mapLabelOf(mapRunArn: string | undefined): string | undefined {
  return mapRunArn ? /:mapRun:[^/]+\/(.+):[^:]+$/.exec(mapRunArn)?.[1] : undefined;
}

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await res.Body?.transformToString('utf8')) ?? '';
}

/** Every `manifest.json` under `prefix`, newest first. */
async function manifestsUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const found: { key: string; at: number }[] = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      if (o.Key?.endsWith('/manifest.json')) found.push({ key: o.Key, at: o.LastModified?.getTime() ?? 0 });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return found.sort((a, b) => b.at - a.at).map((f) => f.key);
}

/** The first failed item of the newest map run with one under `prefix`, or why there is none. */
async function failedItemUnder(s3: S3Client, bucket: string, prefix: string): Promise<FailedMapItemLookup> {
  const manifests = await manifestsUnder(s3, bucket, prefix);
  if (manifests.length === 0) return { problem: `no map run results under ${s3Uri(bucket, prefix)}` };
  for (const key of manifests) {
    const manifest = parseMapRunManifest(await text(s3, bucket, key));
    if (!manifest) return { problem: `${s3Uri(bucket, key)} is not a ResultWriter manifest` };
    const file = manifest.failed[0];
    if (!file) continue;
    const uri = s3Uri(bucket, file.key);
    if ((file.size ?? 0) > MAX_FAILED_FILE_BYTES) {
      return { problem: `${uri} is ${file.size} bytes, more than the ${MAX_FAILED_FILE_BYTES} read in a failure path` };
    }
    const first = firstFailedExecution(await text(s3, bucket, file.key));
    if (!first) return { problem: `${uri} holds no failed execution with an Error` };
    const map = mapLabelOf(manifest.mapRunArn);
    return { item: { ...(map ? { map } : {}), ...first, resultsUri: uri } };
  }
  return { problem: `no map run under ${s3Uri(bucket, prefix)} lists a FAILED file` };
}

/**
 * The first failed item of run `runId`'s failed Distributed Map: the newest map run under each of `prefixes`
 * ({@link mapRunsPrefix} of each) that lists a FAILED file. Never throws.
 */
export async function findFailedMapItem(
  s3: S3Client,
  bucket: string,
  prefixes: readonly string[],
  runId: string,
): Promise<FailedMapItemLookup> {
  const problems: string[] = [];
  for (const base of prefixes) {
    try {
      const found = await failedItemUnder(s3, bucket, mapRunsPrefix(base, runId));
      if (found.item) return found;
      problems.push(found.problem);
    } catch (err) {
      const e = err as Error;
      problems.push(`reading ${s3Uri(bucket, mapRunsPrefix(base, runId))} failed: ${e.name}: ${e.message}`);
    }
  }
  return { problem: problems.join('; ') || 'no ResultWriter prefix to look under' };
}
