import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DependencyError, IntegrityError, ValidationError } from '../../contracts/errors';
import { batchKeys } from '../../contracts/s3-layout';
import { getText, putJson } from '../platform/s3';
import type { PrepareTask, PrepareTaskObject } from './prepare-plan';
import type { PreparePartial } from './prepare-slice';

/**
 * Where the prepare fan-out keeps what it hands on, in the artifacts bucket: the tasks (`batch/<runId>/prepare-plan.json`
 * with each task's objects, PlanPrepare → each PrepareSlice; `prepare-tasks.json`, one small item per task, → the
 * PrepareTasks Map) and one partial result per task
 * (`batch/<runId>/prepare/task-NNNNN.json`, PrepareSlice → the reducer).
 */

async function getJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const text = await getText(s3, bucket, key);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`s3://${bucket}/${key} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The size of each object: the ledger's when it has one (> 0), else HeadObject's (0 when the object is gone). */
export async function withSizes(
  s3: S3Client,
  bucket: string,
  objects: readonly { key: string; etag: string; size?: number }[],
): Promise<PrepareTaskObject[]> {
  const out: PrepareTaskObject[] = [];
  for (const o of objects) {
    if (o.size && o.size > 0) {
      out.push({ key: o.key, etag: o.etag, size: o.size });
      continue;
    }
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.key }));
      out.push({ key: o.key, etag: o.etag, size: head.ContentLength ?? 0 });
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      // Gone since its arrival: the prepare task quarantines it (it reads nothing of it).
      if (name === 'NotFound' || name === 'NoSuchKey') out.push({ key: o.key, etag: o.etag, size: 0 });
      else throw new DependencyError(`HeadObject s3://${bucket}/${o.key} failed: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Write the plan (every task with its objects) and the Map's items (one small item per task); returns the items' key. */
export async function writeTasks(s3: S3Client, bucket: string, runId: string, tasks: PrepareTask[]): Promise<string> {
  await putJson(s3, bucket, batchKeys(runId).preparePlan, tasks);
  const key = batchKeys(runId).prepareTasks;
  await putJson(
    s3,
    bucket,
    key,
    tasks.map(({ task, slice, slices, objects, bytes }) => ({ task, slice, slices, objects: objects.length, bytes })),
  );
  return key;
}

/** Prepare task `task` of a run, from its plan. @throws ValidationError when the plan has no such task */
export async function readTask(s3: S3Client, bucket: string, runId: string, task: number): Promise<PrepareTask> {
  const key = batchKeys(runId).preparePlan;
  const doc = await getJson(s3, bucket, key);
  const t = Array.isArray(doc) ? (doc[task] as PrepareTask | undefined) : undefined;
  if (!t || t.task !== task || !Array.isArray(t.objects)) {
    throw new ValidationError(`s3://${bucket}/${key} has no prepare task ${task}`);
  }
  return t;
}

export async function writePartial(s3: S3Client, bucket: string, runId: string, p: PreparePartial): Promise<string> {
  const key = batchKeys(runId).preparePartial(p.task);
  await putJson(s3, bucket, key, p);
  return key;
}

/** The partial result of task `task`. @throws IntegrityError when it is missing or is another task's */
export async function readPartial(s3: S3Client, bucket: string, runId: string, task: number): Promise<PreparePartial> {
  const key = batchKeys(runId).preparePartial(task);
  let doc: unknown;
  try {
    doc = await getJson(s3, bucket, key);
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFoundError') {
      throw new IntegrityError(`Prepare task ${task} left no partial result at s3://${bucket}/${key}`);
    }
    throw err;
  }
  const p = doc as PreparePartial;
  if (p?.task !== task || !Array.isArray(p.objects) || !Array.isArray(p.parts)) {
    throw new IntegrityError(`s3://${bucket}/${key} is not the partial result of prepare task ${task}`);
  }
  return p;
}
