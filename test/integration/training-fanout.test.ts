/**
 * PrepareTrainingData fanned out (plan → profile per task → spec → encode per task → finish) over several tasks
 * against the one-invocation path (the same phases over one task) on the same objects, on moto S3: several objects per partition, bad rows in some, tasks of one or two
 * objects. The spec, counts, validation report and (as a multiset of lines) the train and validation rows must be the
 * same; a file breaking the contract fails both the same way, with the same report.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ValidationError } from '../../contracts/errors';
import { parseS3Uri } from '../../contracts/s3-layout';
import { loadDefaultContract } from '../../lambdas/data/contract';
import type { TrainingPrepareSettings } from '../../lambdas/data/training-profile';
import { prepareTrainingData } from '../../lambdas/functions/prepare-training-data/core';
import { generateSampleData } from '../../local/demo/sample-data';
import { createBucket, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';
import { runTrainingFanOut } from '../support/training-fanout';

const contract = loadDefaultContract();
const settings = { validationShare: 0.2, maxInvalidRowRatio: 0.05, maxReportedViolations: 4 };

async function text(s3: S3Client, bucket: string, key: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString('utf8');
}

/** Every line of every object under the prefix URI, sorted (the rows as a multiset). */
async function lines(s3: S3Client, uri: string): Promise<{ objects: number; lines: string[] }> {
  const { bucket, key: prefix } = parseS3Uri(uri, { prefix: true });
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  const all: string[] = [];
  for (const o of res.Contents ?? []) all.push(...(await text(s3, bucket, o.Key!)).split('\n').filter(Boolean));
  return { objects: res.Contents?.length ?? 0, lines: all.sort() };
}

/** Numbers equal to 12 significant digits (the merged moments may differ from one pass in the last bits). */
const round = (v: unknown): unknown =>
  typeof v === 'number'
    ? Number(v.toPrecision(12))
    : Array.isArray(v)
      ? v.map(round)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]))
        : v;
const roundLine = (l: string) =>
  l
    .split(',')
    .map((x) => String(Number(Number(x).toPrecision(12))))
    .join(',');

describeWithServers('PrepareTrainingData fanned out vs one Lambda', { moto: true }, (env) => {
  let s3: S3Client;
  let features: string;
  let artifacts: string;
  const keys: string[] = [];
  const fan = (runId: string, extra: Partial<TrainingPrepareSettings> = {}): TrainingPrepareSettings => ({
    s3,
    contract,
    bucket: features,
    artifactsBucket: artifacts,
    runId,
    ...settings,
    ...extra,
  });

  beforeAll(async () => {
    s3 = testClients(env.moto.endpoint).s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    const data = generateSampleData({ customers: 1500, seed: 11 });
    // Each labelled snapshot cut into three objects, the first snapshot's bad rows dealt over its three objects (so
    // the first violations listed come from several tasks).
    for (const f of data.files.filter((x) => x.kind === 'training' && x.phase === 'initial')) {
      const [header, ...all] = f.body.trimEnd().split('\n');
      const rows = all.filter((r) => !r.startsWith('BADTRAIN'));
      const bad = all.filter((r) => r.startsWith('BADTRAIN'));
      const per = Math.ceil(rows.length / 3);
      for (let p = 0; p < 3; p++) {
        const key = f.key.replace('part-0.csv', `part-${p}.csv`);
        const mine = bad.filter((_, i) => i % 3 === p);
        const body = `${[header, ...rows.slice(p * per, (p + 1) * per), ...mine].join('\n')}\n`;
        await s3.send(new PutObjectCommand({ Bucket: features, Key: key, Body: body }));
        keys.push(key);
      }
    }
    // The same objects plus one breaking the contract (wrong header), under a prefix of their own.
    for (const key of keys) {
      const body = await text(s3, features, key);
      await s3.send(new PutObjectCommand({ Bucket: features, Key: `bad/${key}`, Body: body }));
    }
    await s3.send(
      new PutObjectCommand({
        Bucket: features,
        Key: 'bad/training/dt=2026-09-30/part-9.csv',
        Body: 'customer_id,as_of,churned,tenure\nX1,2026-09-30,0,3\n',
      }),
    );
  });

  it('gives the same spec, counts, report and rows as one pass, over several tasks and instances', async () => {
    const one = await prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      runId: 'fan-one',
      prefix: 'training/',
      ...settings,
      instanceCount: 2,
    });
    const { result: many, tasks } = await runTrainingFanOut(fan('fan-many', { instanceCount: 2 }), {
      taskBytes: 30_000,
      prefix: 'training/',
    });
    expect(tasks.length).toBeGreaterThanOrEqual(3);
    expect(tasks.some((t) => t.keys.length > 1) || tasks.length === keys.length).toBe(true);
    expect(tasks.flatMap((t) => t.keys)).toEqual([...keys].sort());

    for (const k of ['rowsIn', 'rowsUsed', 'rowsQuarantined', 'trainRows', 'validationRows', 'files'] as const) {
      expect([k, many[k]]).toEqual([k, one[k]]);
    }
    expect(many.rowsQuarantined).toBeGreaterThan(0);
    expect(many.rowsIn).toBe(many.rowsUsed + many.rowsQuarantined);
    expect(many.dataWindow).toEqual(one.dataWindow);
    expect(many.trainingObjects).toEqual(one.trainingObjects);
    expect(many.trainShards % 2).toBe(0);
    expect(round(many.featureStats)).toEqual(round(one.featureStats));

    const spec = (uri: string) => text(s3, artifacts, parseS3Uri(uri).key).then((t) => JSON.parse(t));
    const [specOne, specMany] = await Promise.all([spec(one.preprocessingUri), spec(many.preprocessingUri)]);
    expect(round({ ...specMany, runId: null })).toEqual(round({ ...specOne, runId: null }));
    const [reportOne, reportMany] = await Promise.all([spec(one.validationReportUri), spec(many.validationReportUri)]);
    expect(reportMany).toEqual(reportOne);
    expect(reportMany.violations).toHaveLength(4);
    expect(new Set(reportMany.violations.map((v: { file: string }) => v.file)).size).toBeGreaterThan(1);
    expect(reportMany.violationsNotListed).toBeGreaterThan(0);
    const [statsOne, statsMany] = await Promise.all([spec(one.statsUri), spec(many.statsUri)]);
    expect(round(statsMany)).toEqual(round(statsOne));

    const trainOne = await lines(s3, one.trainPrefixUri);
    const trainMany = await lines(s3, many.trainPrefixUri);
    expect(trainMany.objects).toBe(many.trainShards);
    expect(trainMany.lines.map(roundLine).sort()).toEqual(trainOne.lines.map(roundLine).sort());
    const valOne = await lines(s3, one.validationPrefixUri);
    const valMany = await lines(s3, many.validationPrefixUri);
    expect(valMany.objects).toBeGreaterThan(1);
    expect(valMany.lines.map(roundLine).sort()).toEqual(valOne.lines.map(roundLine).sort());
    expect(valMany.lines).toHaveLength(many.validationRows);
  });

  it('fails on a file breaking the contract as one pass does, with the same report', async () => {
    const failure = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    };
    const one = await failure(
      prepareTrainingData({
        s3,
        contract,
        bucket: features,
        artifactsBucket: artifacts,
        runId: 'fan-bad-one',
        prefix: 'bad/training/',
        ...settings,
      }),
    );
    const many = await failure(runTrainingFanOut(fan('fan-bad-many'), { taskBytes: 30_000, prefix: 'bad/training/' }));
    expect(many.message.replace(/fan-bad-many/g, 'RUN')).toBe(one.message.replace(/fan-bad-one/g, 'RUN'));
    const report = (run: string) => text(s3, artifacts, `reports/${run}/validation.json`).then((t) => JSON.parse(t));
    const [a, b] = await Promise.all([report('fan-bad-one'), report('fan-bad-many')]);
    expect(b).toEqual(a);
    expect(b.status).toBe('failed');
  });
});
