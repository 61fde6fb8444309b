import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { IntegrityError, ValidationError } from '../../../contracts/errors';
import type { ResultWriterDetails } from '../../../contracts/states/batch';
import { getText } from '../../platform/s3';
import { parseStateInput } from '../../platform/state-input';

/**
 * The per-part results of the LoadScores Distributed Map, read back from what its ResultWriter put in S3: a
 * `manifest.json` naming `SUCCEEDED_<n>.json` (and `FAILED_<n>.json`, `PENDING_<n>.json`) files, each a JSON array of
 * child executions whose `Output` is the loader's result as a JSON string. Only succeeded results are returned; any
 * failed or pending one is an error (the Map tolerates no failure, so a complete run has none).
 */

const ManifestSchema = z.object({
  DestinationBucket: z.string().min(1),
  MapRunArn: z.string().min(1),
  ResultFiles: z.object({
    SUCCEEDED: z.array(z.object({ Key: z.string().min(1), Size: z.number().optional() })).default([]),
    FAILED: z.array(z.object({ Key: z.string().min(1) })).default([]),
    PENDING: z.array(z.object({ Key: z.string().min(1) })).default([]),
  }),
});

const ChildSchema = z.object({ Status: z.string(), Output: z.string().optional() });

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Every succeeded item's output of a map run, in file order.
 * @throws IntegrityError when the map run reports failed or pending items; ValidationError for a malformed file
 */
export async function readMapResults(s3: S3Client, details: ResultWriterDetails): Promise<unknown[]> {
  const where = `s3://${details.Bucket}/${details.Key}`;
  const manifest = parseStateInput(
    ManifestSchema,
    parseJson(await getText(s3, details.Bucket, details.Key), where),
    where,
    'not a map run manifest',
  );
  const { FAILED, PENDING, SUCCEEDED } = manifest.ResultFiles;
  if (FAILED.length > 0 || PENDING.length > 0) {
    throw new IntegrityError(
      `${where}: map run ${manifest.MapRunArn} has ${FAILED.length} failed and ${PENDING.length} pending result file(s)`,
    );
  }
  const outputs: unknown[] = [];
  for (const file of SUCCEEDED) {
    const fileWhere = `s3://${manifest.DestinationBucket}/${file.Key}`;
    const text = await getText(s3, manifest.DestinationBucket, file.Key);
    const children = parseStateInput(
      z.array(ChildSchema),
      parseJson(text, fileWhere),
      fileWhere,
      'not a map run result file',
    );
    children.forEach((child, i) => {
      if (child.Status !== 'SUCCEEDED' || child.Output === undefined) {
        throw new IntegrityError(`${fileWhere}[${i}]: status ${child.Status} without an output`);
      }
      outputs.push(parseJson(child.Output, `${fileWhere}[${i}].Output`));
    });
  }
  return outputs;
}
