/**
 * Handler-level tests (aws-sdk-client-mock) of the fanned-out prepare steps: PlanTrainingData, ProfileTask,
 * BuildPreprocessingSpec, EncodeTask, and PlanPrepare's sizing by HeadObject. A malformed input or environment is a
 * typed error naming the field or variable; what the core meets in S3 (nothing listed, a missing or malformed
 * partial, an outage) is a typed error naming the object; a success writes what the next step reads.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ConfigurationError, DependencyError, NotFoundError, ValidationError } from '../../../contracts/errors';
import { batchKeys, trainingPrepareKeys } from '../../../contracts/s3-layout';
import { handler as buildSpecHandler } from '../../../lambdas/functions/build-preprocessing-spec/handler';
import { handler as encodeHandler } from '../../../lambdas/functions/encode-training-data/handler';
import { planPrepare } from '../../../lambdas/functions/plan-prepare/core';
import { handler as planPrepareHandler } from '../../../lambdas/functions/plan-prepare/handler';
import { handler as planHandler } from '../../../lambdas/functions/plan-training-data/handler';
import { handler as profileHandler } from '../../../lambdas/functions/profile-training-data/handler';

const s3 = mockClient(S3Client);
const named = (name: string, message = name) => Object.assign(new Error(message), { name });
/** A GetObject body as the readers here consume it (`transformToString`). */
const body = (text: string) => ({ Body: { transformToString: async () => text } as never });
/** The JSON a PutObject call wrote to `key`. */
const written = (key: string): unknown => {
  const call = s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key === key);
  return call ? JSON.parse(String(call.args[0].input.Body)) : undefined;
};

const ENV = {
  FEATURES_BUCKET: 'feat-bucket',
  ARTIFACTS_BUCKET: 'art-bucket',
  PREPARE_TASK_BYTES: '1000',
  VALIDATION_SHARE: '0.2',
  MAX_REPORTED_VIOLATIONS: '50',
  MAX_INVALID_ROW_RATIO: '0.05',
};
beforeAll(() => {
  Object.assign(process.env, ENV);
});
beforeEach(() => s3.reset());

describe('PlanTrainingData handler', () => {
  const input = {
    runId: 'r-1',
    dataWindow: { from: '2026-10-30', to: '2026-10-31', partitions: ['2026-10-30', '2026-10-31'] },
  };

  it('writes the window’s objects as tasks of at most PREPARE_TASK_BYTES and returns where they are', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'training/dt=2026-10-29/a.csv', Size: 400 },
        { Key: 'training/dt=2026-10-30/a.csv', Size: 600 },
        { Key: 'training/dt=2026-10-30/b.csv', Size: 300 },
        { Key: 'training/dt=2026-10-31/notes.txt', Size: 5 },
        { Key: 'training/dt=2026-10-31/c.csv', Size: 700 },
      ],
    });
    s3.on(PutObjectCommand).resolves({});
    const out = await planHandler(input);
    expect(out).toEqual({
      bucket: 'art-bucket',
      tasksKey: trainingPrepareKeys('r-1').tasks,
      tasks: 2,
      objects: 3,
      bytes: 1600,
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'feat-bucket', Prefix: 'training/' });
    expect(written(trainingPrepareKeys('r-1').tasks)).toEqual([
      expect.objectContaining({ task: 1, keys: ['training/dt=2026-10-30/a.csv', 'training/dt=2026-10-30/b.csv'] }),
      expect.objectContaining({ task: 2, keys: ['training/dt=2026-10-31/c.csv'] }),
    ]);
  });

  it('an empty window is a NotFoundError naming the prefix and the window', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'training/dt=2026-09-01/a.csv', Size: 10 }] });
    const err = await planHandler(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(
      'No training data: no .csv objects under s3://feat-bucket/training/ in window 2026-10-30..2026-10-31',
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('a listing outage is a DependencyError (retried by the state machine)', async () => {
    s3.on(ListObjectsV2Command).rejects(named('InternalError', 'We encountered an internal error'));
    await expect(planHandler(input)).rejects.toThrow(DependencyError);
    await expect(planHandler(input)).rejects.toThrow(/Listing s3:\/\/feat-bucket\/training\/ failed/);
  });

  it('rejects a malformed input naming the field, and a missing variable naming it', async () => {
    await expect(
      planHandler({ runId: 'r-1', dataWindow: { ...input.dataWindow, from: '2026-02-30' } }),
    ).rejects.toThrow(/^PlanTrainingData: invalid input: dataWindow\.from: /);
    await expect(planHandler({ runId: 'r 1', dataWindow: {} })).rejects.toThrow(ValidationError);
    delete process.env.PREPARE_TASK_BYTES;
    try {
      const err = await planHandler(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toMatch(/plan-training-data.*PREPARE_TASK_BYTES/);
    } finally {
      process.env.PREPARE_TASK_BYTES = ENV.PREPARE_TASK_BYTES;
    }
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });
});

describe('ProfileTask and EncodeTask handlers (the Map items)', () => {
  const item = { runId: 'r-1', task: 1, keys: ['training/dt=2026-10-30/a.csv'] };

  it('reject a malformed item naming the field, before any S3 call', async () => {
    await expect(profileHandler({ ...item, keys: [] })).rejects.toThrow(/^ProfileTask: invalid input: keys: /);
    await expect(profileHandler({ ...item, task: 0 })).rejects.toThrow(/^ProfileTask: invalid input: task: /);
    await expect(encodeHandler({ ...item, keys: [42] })).rejects.toThrow(/^EncodeTask: invalid input: keys\.0: /);
    await expect(encodeHandler({ runId: 'r-1' })).rejects.toThrow(ValidationError);
    expect(s3.calls()).toHaveLength(0);
  });

  it('ProfileTask: an S3 outage reading an object is a DependencyError naming it (not a quarantine)', async () => {
    s3.on(GetObjectCommand).rejects(named('ServiceUnavailable', 'Please reduce your request rate'));
    const err = await profileHandler(item).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as Error).message).toMatch(/s3:\/\/feat-bucket\/training\/dt=2026-10-30\/a\.csv/);
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('EncodeTask: a missing spec plan is a NotFoundError naming the phase and the object', async () => {
    s3.on(GetObjectCommand).rejects(named('NoSuchKey'));
    const err = await encodeHandler(item).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe(
      `the preprocessing spec plan: s3://art-bucket/${trainingPrepareKeys('r-1').spec} does not exist`,
    );
  });

  it('EncodeTask: a spec plan without the task is an IntegrityError', async () => {
    s3.on(GetObjectCommand).resolves(body(JSON.stringify({ assignments: [{ task: 2 }] })));
    await expect(encodeHandler(item)).rejects.toThrow('The spec plan of r-1 has no task 1');
  });
});

describe('BuildPreprocessingSpec handler', () => {
  it('rejects a malformed input naming the field', async () => {
    await expect(buildSpecHandler({ runId: 'r-1', tasks: 0 })).rejects.toThrow(
      /^BuildPreprocessingSpec: invalid input: tasks: /,
    );
    expect(s3.calls()).toHaveLength(0);
  });

  it('a missing profile partial is a NotFoundError naming the task and the object', async () => {
    s3.on(GetObjectCommand).rejects(named('NoSuchKey'));
    const err = await buildSpecHandler({ runId: 'r-1', tasks: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(
      new RegExp(`^the profile of task 1: s3://art-bucket/${trainingPrepareKeys('r-1').profile(1)} does not exist$`),
    );
  });

  it('a malformed profile partial is a ValidationError naming the object (not a bare SyntaxError)', async () => {
    s3.on(GetObjectCommand).resolves(body('{"task": 1, "stats": '));
    const err = await buildSpecHandler({ runId: 'r-1', tasks: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(
      new RegExp(`^the profile of task 1: s3://art-bucket/${trainingPrepareKeys('r-1').profile(1)} is not JSON: `),
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('PlanPrepare: sizes from the ledger, else HeadObject', () => {
  const work = (objects: { key: string; etag: string; size: number }[]) => ({
    count: objects.length,
    truncated: false,
    objects,
  });
  const plan = (objects: { key: string; etag: string; size: number }[]) =>
    planPrepare({
      s3: s3 as unknown as S3Client,
      runId: 'b-1',
      work: work(objects),
      featuresBucket: 'feat-bucket',
      artifactsBucket: 'art-bucket',
      bytesPerTask: 1000,
    });

  it('asks HeadObject only for objects without a ledger size; a vanished object is planned with size 0', async () => {
    s3.on(HeadObjectCommand, { Key: 'inference/dt=2026-11-01/b.csv' }).resolves({ ContentLength: 700 });
    s3.on(HeadObjectCommand, { Key: 'inference/dt=2026-11-01/c.csv' }).rejects(named('NotFound'));
    s3.on(PutObjectCommand).resolves({});
    const out = await plan([
      { key: 'inference/dt=2026-11-01/a.csv', etag: 'e1', size: 600 },
      { key: 'inference/dt=2026-11-01/b.csv', etag: 'e2', size: 0 },
      { key: 'inference/dt=2026-11-01/c.csv', etag: 'e3', size: 0 },
    ]);
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      'inference/dt=2026-11-01/b.csv',
      'inference/dt=2026-11-01/c.csv',
    ]);
    expect(out).toMatchObject({ bucket: 'art-bucket', tasksKey: batchKeys('b-1').prepareTasks });
    const tasks = written(batchKeys('b-1').preparePlan) as { objects: { key: string; size: number }[] }[];
    const sizes = Object.fromEntries(tasks.flatMap((t) => t.objects.map((o) => [o.key.slice(-5), o.size])));
    // The day (1 300 bytes) is over the budget, so it is sliced; every task lists every object with its size.
    expect(sizes).toEqual({ 'a.csv': 600, 'b.csv': 700, 'c.csv': 0 });
  });

  it('any other HeadObject failure is a DependencyError naming the object, and nothing is written', async () => {
    s3.on(HeadObjectCommand).rejects(named('AccessDenied', 'Access Denied'));
    const err = await plan([{ key: 'inference/dt=2026-11-01/b.csv', etag: 'e2', size: 0 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DependencyError);
    expect((err as Error).message).toBe(
      'HeadObject s3://feat-bucket/inference/dt=2026-11-01/b.csv failed: Access Denied',
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('the handler rejects a malformed input naming the field', async () => {
    await expect(planPrepareHandler({ runId: 'b-1', work: work([]) })).rejects.toThrow(
      /^PlanPrepare: invalid input: model: /,
    );
    expect(s3.calls()).toHaveLength(0);
  });
});
