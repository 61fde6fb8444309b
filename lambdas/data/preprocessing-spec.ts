import type { S3Client } from '@aws-sdk/client-s3';
import { ValidationError } from '../../contracts/errors';
import { getText } from '../platform/s3';
import { loadPreprocessingSpec, type PreprocessingSpec } from './encoder';

/** Split `s3://bucket/key` into its parts; ValidationError naming the value otherwise. */
export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new ValidationError(`Not an S3 object URI (s3://bucket/key): "${uri}"`);
  return { bucket: m[1]!, key: m[2]! };
}

/** Load and validate a preprocessing spec stored in S3 (the Production model's, for inference). */
export async function readPreprocessingSpec(s3: S3Client, uri: string): Promise<PreprocessingSpec> {
  const { bucket, key } = parseS3Uri(uri);
  return loadPreprocessingSpec(await getText(s3, bucket, key), uri);
}
