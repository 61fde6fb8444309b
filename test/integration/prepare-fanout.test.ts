/**
 * The prepare fan-out against moto_server: a run prepared through PlanPrepare → PrepareSlice × N → the reducer gives
 * the same rows (as a multiset of lines), counts, quarantined rows and validation report as the same objects
 * prepared in one piece — with a day split into several entity-hash slices that holds a repeated entity across two
 * of its objects, a file-level-failed object, a deleted (unreadable) object and an object without `dt=`.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConflictError } from '../../contracts/errors';
import { batchKeys, quarantineKey, reportKeys } from '../../contracts/s3-layout';
import { bucketRangeSlice, parseLayout, type ScoreLayout } from '../../contracts/score-layout';
import { contractColumns, loadDefaultContract } from '../../lambdas/data/contract';
import type { PreprocessingSpec } from '../../lambdas/data/encoder';
import { PrepareMerger } from '../../lambdas/data/prepare-merge';
import { readPartial } from '../../lambdas/data/prepare-store';
import { readPreprocessingSpec } from '../../lambdas/data/preprocessing-spec';
import type { ValidationReport } from '../../lambdas/data/validation-report';
import { planPrepare } from '../../lambdas/functions/plan-prepare/core';
import { prepareInferenceData, reducePrepared } from '../../lambdas/functions/prepare-inference-data/core';
import { runPrepareTask } from '../../lambdas/functions/prepare-slice/core';
import { prepareTrainingData } from '../../lambdas/functions/prepare-training-data/core';
import { createBucket, testClients } from '../support/aws';
import { featureValues } from '../support/batch-fixtures';
import { describeWithServers } from '../support/servers';

const contract = loadDefaultContract();
const HEADER = contractColumns(contract, 'inference');

/** Inference rows for `ids` on `dt` (row i of the list gets feature values i; `bad` indexes get an unknown plan). */
function csv(dt: string, ids: string[], bad: number[] = []): string {
  const lines = [HEADER.join(',')];
  ids.forEach((id, i) => {
    const v: Record<string, string> = { customer_id: id, as_of: dt, ...featureValues(i) };
    if (bad.includes(i)) v.plan = 'gold';
    lines.push(HEADER.map((c) => v[c] ?? '').join(','));
  });
  return `${lines.join('\n')}\n`;
}
const ids = (prefix: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(from + i).padStart(5, '0')}`);

describeWithServers('prepare fan-out: plan → slices → reduce = one piece (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let features: string;
  let artifacts: string;
  let spec: PreprocessingSpec;
  let preprocessingUri: string;
  const objects: { key: string; etag: string; size: number }[] = [];
  const MAX_LISTED = 7;
  const settings = { maxInvalidRowRatio: 0.3, maxReportedViolations: MAX_LISTED, targetRowsPerPart: 1000 };

  const put = async (key: string, body: string) => {
    const etag = (await s3.send(new PutObjectCommand({ Bucket: features, Key: key, Body: body }))).ETag!;
    objects.push({ key, etag, size: Buffer.byteLength(body) });
    return etag;
  };
  const text = async (bucket: string, key: string) =>
    (await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToString('utf-8')) ?? '';
  const keysUnder = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: prefix }))).Contents ?? []).map(
      (o) => o.Key!,
    );
  /** Every line of every part of a run, sorted (a multiset). */
  const partLines = async (runId: string) => {
    const { parts } = JSON.parse(await text(artifacts, batchKeys(runId).parts)) as { parts: { part: string }[] };
    const lines: string[] = [];
    for (const p of parts)
      lines.push(...(await text(artifacts, `${batchKeys(runId).inputPrefix}${p.part}`)).split('\n').filter(Boolean));
    return lines.sort();
  };
  /** Quarantined rows of one source object (its own quarantine CSV, or its slices'), header dropped, sorted. */
  const quarantinedRows = async (runId: string, key: string) => {
    const rows: string[] = [];
    for (const k of await keysUnder(quarantineKey(runId, key))) {
      if (k.endsWith('.json') || (k === quarantineKey(runId, key) && !(await isRowFile(k)))) continue;
      rows.push(...(await text(artifacts, k)).split('\n').filter(Boolean).slice(1));
    }
    return rows.sort();
  };
  const isRowFile = async (k: string) => (await text(artifacts, k)).split('\n')[0]!.endsWith(',_line,_reasons');

  /** PlanPrepare → every PrepareSlice (in reverse, as a Map may finish them) → the reducer, like the state machine. */
  const fanOut = async (
    runId: string,
    bytesPerTask: number,
    between?: (task: number) => Promise<void>,
    layout?: ScoreLayout,
  ) => {
    const plan = await planPrepare({
      s3,
      runId,
      work: { count: objects.length, truncated: false, objects },
      featuresBucket: features,
      artifactsBucket: artifacts,
      bytesPerTask,
      ...(layout === undefined ? {} : { layout }),
    });
    for (let task = plan.tasks - 1; task >= 0; task--) {
      await runPrepareTask({
        s3,
        runId,
        task,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        segmentFeature: 'plan',
        maxReportedViolations: MAX_LISTED,
        targetRowsPerPart: settings.targetRowsPerPart,
      });
      await between?.(task);
    }
    const merger = new PrepareMerger(spec.contract, spec.trainingStats, MAX_LISTED);
    for (let task = 0; task < plan.tasks; task++) merger.add(await readPartial(s3, artifacts, runId, task));
    const res = await reducePrepared({ s3, spec, artifactsBucket: artifacts, runId, ...settings }, merger.finish());
    return { plan, res };
  };

  beforeAll(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    const trainKey = 'training/dt=2026-10-31/part-0.csv';
    const train = [contractColumns(contract, 'training').join(',')];
    ids('T', 200).forEach((id, i) => {
      const v: Record<string, string> = {
        customer_id: id,
        as_of: '2026-10-31',
        churned: String(i % 3 === 0 ? 1 : 0),
        ...featureValues(i),
      };
      train.push(
        contractColumns(contract, 'training')
          .map((col) => v[col] ?? '')
          .join(','),
      );
    });
    await s3.send(new PutObjectCommand({ Bucket: features, Key: trainKey, Body: `${train.join('\n')}\n` }));
    const trained = await prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      keys: [trainKey],
      runId: 'train-1',
      validationShare: 0.2,
      maxInvalidRowRatio: 0.05,
      maxReportedViolations: 100,
    });
    preprocessingUri = trained.preprocessingUri;
    spec = await readPreprocessingSpec(s3, preprocessingUri);

    // Day 1 (sliced): a.csv with bad rows and an in-file duplicate; b.csv repeats 30 of a.csv's entities (they lose:
    // b is later in key order); c.csv fails its header; d.csv is deleted after its arrival (unreadable).
    const a = csv('2026-11-01', [...ids('A', 300), 'A00007', 'A00100'], [3, 50, 51, 299]);
    await put('inference/dt=2026-11-01/a.csv', `${a}A00999,2026-10-30,1,1,1,1,1,true,basic,north\nragged,row\n`);
    await put('inference/dt=2026-11-01/b.csv', csv('2026-11-01', [...ids('A', 30, 270), ...ids('B', 200)], [10]));
    await put('inference/dt=2026-11-01/c.csv', 'customer_id,foo\n1,2\n3,4\n');
    await put('inference/dt=2026-11-01/d.csv', csv('2026-11-01', ids('D', 20)));
    await s3.send(new DeleteObjectCommand({ Bucket: features, Key: 'inference/dt=2026-11-01/d.csv' }));
    // Day 2 (whole): small; one object with no valid row; and an object without dt=.
    await put('inference/dt=2026-11-02/e.csv', csv('2026-11-02', ids('E', 40), [5]));
    await put('inference/dt=2026-11-02/f.csv', csv('2026-11-02', ids('F', 2), [0, 1]));
    await put('inference/no-partition/g.csv', csv('2026-11-02', ids('G', 5)));
  }, 120_000);

  it('gives the same rows, counts, quarantined rows and validation report as one piece', async () => {
    const single = await prepareInferenceData({
      s3,
      spec,
      featuresBucket: features,
      artifactsBucket: artifacts,
      objects: objects.map(({ key, etag }) => ({ key, etag })),
      runId: 'single',
      segmentFeature: 'plan',
      ...settings,
    });
    const day1 = objects.filter((o) => o.key.includes('dt=2026-11-01')).reduce((n, o) => n + o.size, 0);
    const { plan, res } = await fanOut('fanout', Math.ceil(day1 / 3));
    expect(plan.tasks).toBe(5); // day 1 in 3 slices, day 2 whole, the no-partition object
    const tasks = JSON.parse(await text(artifacts, batchKeys('fanout').preparePlan)) as {
      slices: number;
      objects: unknown[];
    }[];
    expect(tasks.map((t) => [t.slices, t.objects.length])).toEqual([
      [3, 4],
      [3, 4],
      [3, 4],
      [1, 2],
      [1, 1],
    ]);
    // Every slice of day 1 owned some of its rows.
    for (let t = 0; t < 3; t++) {
      const p = await readPartial(s3, artifacts, 'fanout', t);
      expect(p.objects.find((o) => o.key.endsWith('a.csv'))?.report?.rowsIn).toBeGreaterThan(50);
    }

    expect(await partLines('fanout')).toEqual(await partLines('single'));
    for (const k of ['rowsIn', 'rowsUsed', 'rowsQuarantined', 'expectedRows', 'quarantinedObjects'] as const) {
      expect(res[k]).toEqual(single[k]);
    }
    expect(single.quarantinedObjects).toEqual([
      'inference/dt=2026-11-01/c.csv',
      'inference/dt=2026-11-01/d.csv',
      'inference/dt=2026-11-02/f.csv',
      'inference/no-partition/g.csv',
    ]);
    const report = async (runId: string) =>
      JSON.parse(await text(artifacts, reportKeys(runId).validation)) as ValidationReport;
    const [one, many] = [await report('single'), await report('fanout')];
    expect(many).toEqual(one);
    expect(one.countsByRule).toMatchObject({ duplicate_entity: 30, header_unexpected_column: 1, object_missing: 1 });
    expect(one.violations).toHaveLength(MAX_LISTED);
    expect(one.violationsNotListed).toBeGreaterThan(0);
    // The run-level duplicate rule kept a.csv's copies: b.csv lost the repeated entities that a.csv kept (29 of its
    // 30: a.csv rejected A00299) but one (A00280, its row 10) for an unknown plan; a.csv lost its 2 in-file repeats.
    expect(one.files.find((f) => f.file.endsWith('b.csv'))?.countsByRule).toEqual({
      duplicate_entity: 28,
      unknown_category: 1,
    });
    expect(one.files.find((f) => f.file.endsWith('a.csv'))?.countsByRule.duplicate_entity).toBe(2);

    for (const o of objects) {
      expect(await quarantinedRows('fanout', o.key)).toEqual(await quarantinedRows('single', o.key));
    }
    expect(await quarantinedRows('single', 'inference/dt=2026-11-01/a.csv')).toHaveLength(8);
    // Whole-object quarantine once, by slice 0: the copy and report of c.csv, the pointer of the deleted d.csv.
    const wholes = async (runId: string) =>
      (await keysUnder(`quarantine/${runId}/`))
        .filter((k) => k.endsWith('.report.json') || k.endsWith('.pointer.json'))
        .map((k) => k.replace(`/${runId}/`, '/'));
    expect((await wholes('fanout')).sort()).toEqual((await wholes('single')).sort());
    expect(await text(artifacts, quarantineKey('fanout', 'inference/dt=2026-11-01/c.csv'))).toBe(
      'customer_id,foo\n1,2\n3,4\n',
    );
    expect(await keysUnder(quarantineKey('fanout', 'inference/dt=2026-11-01/d.csv'))).toEqual([
      `${quarantineKey('fanout', 'inference/dt=2026-11-01/d.csv')}.pointer.json`,
      `${quarantineKey('fanout', 'inference/dt=2026-11-01/d.csv')}.report.json`,
    ]);
    // Statistics merge to the same rows; drift agrees up to rounding.
    for (const [f, v] of Object.entries(single.drift)) expect(res.drift[f]).toBeCloseTo(v, 9);
  });

  it("with a cluster's layout: each slice's parts hold only its range of the buckets, the same as one piece", async () => {
    const layout = parseLayout('buckets:6:8');
    const day1 = objects.filter((o) => o.key.includes('dt=2026-11-01')).reduce((n, o) => n + o.size, 0);
    const { plan, res } = await fanOut('fanout-buckets', Math.ceil(day1 / 3), undefined, layout);
    expect(plan.tasks).toBe(5);
    const { parts } = JSON.parse(await text(artifacts, batchKeys('fanout-buckets').parts)) as {
      parts: { part: string }[];
    };
    const seen = new Set<number>();
    for (const { part } of parts) {
      const task = Number(/^part-(\d+)-/.exec(part)![1]);
      if (task > 2) continue;
      seen.add(task);
      const lines = (await text(artifacts, `${batchKeys('fanout-buckets').inputPrefix}${part}`)).split('\n');
      for (const line of lines.filter(Boolean)) {
        expect(bucketRangeSlice(layout, line.slice(0, line.indexOf(',')), 3)).toBe(task);
      }
    }
    expect([...seen].sort()).toEqual([0, 1, 2]);
    expect(await partLines('fanout-buckets')).toEqual(await partLines('single'));
    const report = async (runId: string) => JSON.parse(await text(artifacts, reportKeys(runId).validation)) as unknown;
    expect(await report('fanout-buckets')).toEqual(await report('single'));
    expect(res.rowsUsed).toBeGreaterThan(400);
  });

  it('fails the run with a ConflictError when an object changes between its slices', async () => {
    const b = objects.find((o) => o.key.endsWith('b.csv'))!;
    const day1 = objects.filter((o) => o.key.includes('dt=2026-11-01')).reduce((n, o) => n + o.size, 0);
    // Tasks run from the last: after slice 1 of day 1 (task 1), b.csv is rewritten; slice 0 finds its ETag changed.
    const rewrite = async (task: number) => {
      if (task === 1)
        await s3.send(new PutObjectCommand({ Bucket: features, Key: b.key, Body: csv('2026-11-01', ids('X', 3)) }));
    };
    const run = fanOut('changed', Math.ceil(day1 / 3), rewrite);
    await expect(run).rejects.toThrow(ConflictError);
    await expect(run).rejects.toThrow(
      'the slices of inference/dt=2026-11-01/b.csv disagree on it (slice 0: unreadable, another: ok): it changed while the run read it',
    );
  });
});
