import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { DependencyError } from '../../contracts/errors';
import { partitionDate, s3Uri } from '../../contracts/s3-layout';

/** Finding feature objects in S3 and the `dt=YYYY-MM-DD` partition dates in their keys. */

/**
 * Keys of training CSVs under `prefix`, sorted, optionally limited to `dt=` partitions within `window` (inclusive);
 * `sizes[i]` is the size in bytes of `keys[i]` as listed.
 */
export async function listTrainingKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  window?: { from?: string; to?: string },
): Promise<{ keys: string[]; sizes: number[]; skipped: string[] }> {
  const found: { key: string; size: number }[] = [];
  const skipped: string[] = [];
  let token: string | undefined;
  do {
    let res: ListObjectsV2CommandOutput;
    try {
      res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      throw new DependencyError(`Listing ${s3Uri(bucket, prefix)} failed: ${(err as Error).message}`, { cause: err });
    }
    for (const o of res.Contents ?? []) {
      const key = o.Key;
      if (!key || key.endsWith('/')) continue;
      if (!key.toLowerCase().endsWith('.csv')) {
        skipped.push(key);
        continue;
      }
      if (window?.from || window?.to) {
        const dt = partitionDate(key);
        if (!dt || (window.from && dt < window.from) || (window.to && dt > window.to)) {
          if (!dt) skipped.push(key);
          continue;
        }
      }
      found.push({ key, size: o.Size ?? 0 });
    }
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys: found.map((f) => f.key), sizes: found.map((f) => f.size), skipped };
}

/** Earliest and latest `dt=` partition date among `keys` (null when none has one). */
export function dataWindow(keys: readonly string[]): { from: string | null; to: string | null } {
  let from: string | null = null;
  let to: string | null = null;
  for (const k of keys) {
    const dt = partitionDate(k);
    if (!dt) continue;
    if (from === null || dt < from) from = dt;
    if (to === null || dt > to) to = dt;
  }
  return { from, to };
}
