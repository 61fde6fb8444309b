import { ValidationError } from './errors';

/** `s3://bucket/key` of an object or a prefix. */
export const s3Uri = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/**
 * Split an S3 URI into bucket and key. An object URI needs a key; `{ prefix: true }` also accepts `s3://bucket`
 * and `s3://bucket/` (key `''`), as SageMaker's S3 data sources and output paths do.
 * @throws ValidationError naming the value when it is not an S3 URI
 */
export function parseS3Uri(uri: string, options: { readonly prefix?: boolean } = {}): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/\s]+)(?:\/(.*))?$/.exec(uri);
  const key = m?.[2] ?? '';
  if (!m || (!options.prefix && key === '')) {
    const expected = options.prefix ? 's3://bucket[/prefix]' : 's3://bucket/key';
    throw new ValidationError(`Not an S3 ${options.prefix ? 'URI' : 'object URI'} (${expected}): "${uri}"`);
  }
  return { bucket: m[1]!, key };
}
