import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ValidationError } from '../../contracts/errors';
import { parseS3Uri } from '../../contracts/s3-layout';
import { type LedgerObject, LedgerObjectSchema, type Work } from '../../contracts/states/batch';
import { parseStateInput } from '../platform/state-input';

/** Read and JSON-parse one S3 object. @throws ValidationError naming the URI when it is not JSON */
async function getJson(s3: S3Client, uri: string): Promise<unknown> {
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = (await res.Body?.transformToString('utf-8')) ?? '';
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`${uri} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The objects of a run's work (FindUnscored's result): inline, or read from `objectsUri` when the list was too long
 * to travel in the state.
 */
export async function loadWorkObjects(s3: S3Client, work: Work): Promise<LedgerObject[]> {
  if (work.count === 0) return [];
  if (work.objects) return work.objects;
  if (!work.objectsUri) throw new ValidationError('work has neither objects nor objectsUri');
  const doc = await getJson(s3, work.objectsUri);
  const objects = parseStateInput(z.array(LedgerObjectSchema), doc, work.objectsUri);
  if (objects.length !== work.count) {
    throw new ValidationError(`${work.objectsUri} lists ${objects.length} objects, work.count says ${work.count}`);
  }
  return objects;
}

/**
 * The keys of the objects a run quarantined whole, from its `parts.json` (PrepareInferenceData writes them there so
 * the list does not travel in the state).
 * @throws ValidationError naming the URI when the document has no such list or the count disagrees
 */
export async function loadQuarantinedObjects(s3: S3Client, partsUri: string, expectedCount: number): Promise<string[]> {
  const doc = await getJson(s3, partsUri);
  const { quarantinedObjects } = parseStateInput(
    z.object({ quarantinedObjects: z.array(z.string().min(1)) }),
    doc,
    partsUri,
  );
  if (quarantinedObjects.length !== expectedCount) {
    throw new ValidationError(
      `${partsUri} lists ${quarantinedObjects.length} quarantined objects, the run's data says ${expectedCount}`,
    );
  }
  return quarantinedObjects;
}
