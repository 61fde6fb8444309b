import type { S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri } from '../../contracts/s3-layout';
import { getText } from '../platform/s3';
import { loadPreprocessingSpec, type PreprocessingSpec } from './encoder';

/** Load and validate a preprocessing spec stored in S3 (the Production model's, for inference). */
export async function readPreprocessingSpec(s3: S3Client, uri: string): Promise<PreprocessingSpec> {
  const { bucket, key } = parseS3Uri(uri);
  return loadPreprocessingSpec(await getText(s3, bucket, key), uri);
}
