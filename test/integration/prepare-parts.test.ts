import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseS3Uri, partName } from '../../contracts/s3-layout';
import { loadDefaultContract } from '../../lambdas/data/contract';
import type { PreprocessingSpec } from '../../lambdas/data/encoder';
import { PartWriter } from '../../lambdas/data/inference-parts';
import { readPreprocessingSpec } from '../../lambdas/data/preprocessing-spec';
import { prepareInferenceData } from '../../lambdas/functions/prepare-inference-data/core';
import { prepareTrainingData } from '../../lambdas/functions/prepare-training-data/core';
import { createBucket, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const contract = loadDefaultContract();
const TRAIN_HEADER =
  'customer_id,as_of,churned,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const INF_HEADER =
  'customer_id,as_of,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const settings = { validationShare: 0.2, maxInvalidRowRatio: 0.05, maxReportedViolations: 50 };

/** `n` valid rows of `asOf` with ids `<prefix>000000…`. */
function csv(n: number, asOf: string, prefix: string, label = false): string {
  const lines = [label ? TRAIN_HEADER : INF_HEADER];
  for (let i = 0; i < n; i++) {
    const churn = label ? [String(i % 4 === 0 ? 1 : 0)] : [];
    lines.push(
      [`${prefix}${String(i).padStart(6, '0')}`, asOf, ...churn, i % 72, 20.5, i * 10, i % 6, i % 40, 'true']
        .concat([['basic', 'standard', 'premium'][i % 3]!, 'north'])
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

describeWithServers('transform input parts sized by rows (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let features: string;
  let artifacts: string;
  let spec: PreprocessingSpec;

  const put = async (key: string, body: string) =>
    (await s3.send(new PutObjectCommand({ Bucket: features, Key: key, Body: body }))).ETag!;
  const lines = async (bucket: string, key: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await res.Body!.transformToString('utf8')).split('\n').filter((l) => l !== '');
  };

  beforeAll(async () => {
    s3 = testClients(env.moto.endpoint).s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    await put('training/dt=2026-11-01/t.csv', csv(200, '2026-11-01', 'T', true));
    const trained = await prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      prefix: 'training/',
      runId: 'train-parts',
      ...settings,
    });
    spec = await readPreprocessingSpec(s3, trained.preprocessingUri);
  });

  it('splits a big object into full parts and coalesces small objects of one day', async () => {
    const keys = {
      big: 'inference/dt=2026-11-05/a-big.csv', // 120 rows → 50 + 50 + 20
      s1: 'inference/dt=2026-11-05/b-small.csv', // 10
      s2: 'inference/dt=2026-11-05/c-small.csv', // 15 (with s1: one part of 25)
      s3: 'inference/dt=2026-11-05/d-small.csv', // 12 (still fits: 37)
      s4: 'inference/dt=2026-11-05/e-small.csv', // 14 (37 + 14 > 50: a new shared part)
      other: 'inference/dt=2026-11-06/f-small.csv', // another day: a shared part of its own
    };
    const sizes: Record<keyof typeof keys, number> = { big: 120, s1: 10, s2: 15, s3: 12, s4: 14, other: 8 };
    const objects: { key: string; etag: string }[] = [];
    for (const [name, key] of Object.entries(keys) as [keyof typeof keys, string][]) {
      const day = /dt=([\d-]+)/.exec(key)![1]!;
      objects.push({ key, etag: await put(key, csv(sizes[name], day, name.toUpperCase())) });
    }
    const res = await prepareInferenceData({
      s3,
      spec,
      featuresBucket: features,
      artifactsBucket: artifacts,
      objects: [...objects].reverse(), // the ledger's order does not matter: key order
      runId: 'batch-parts-1',
      segmentFeature: 'plan',
      ...settings,
      targetRowsPerPart: 50,
      coalesceRows: 20,
    });
    const etag = (k: string) => objects.find((o) => o.key === k)!.etag;
    expect(res.parts.map(({ part, asOf, rows, sources }) => ({ part, asOf, rows, sources }))).toEqual([
      { part: partName(1), asOf: '2026-11-05', rows: 50, sources: [{ key: keys.big, etag: etag(keys.big), rows: 50 }] },
      { part: partName(2), asOf: '2026-11-05', rows: 50, sources: [{ key: keys.big, etag: etag(keys.big), rows: 50 }] },
      { part: partName(3), asOf: '2026-11-05', rows: 20, sources: [{ key: keys.big, etag: etag(keys.big), rows: 20 }] },
      {
        part: partName(4),
        asOf: '2026-11-05',
        rows: 37,
        sources: [
          { key: keys.s1, etag: etag(keys.s1), rows: 10 },
          { key: keys.s2, etag: etag(keys.s2), rows: 15 },
          { key: keys.s3, etag: etag(keys.s3), rows: 12 },
        ],
      },
      { part: partName(5), asOf: '2026-11-05', rows: 14, sources: [{ key: keys.s4, etag: etag(keys.s4), rows: 14 }] },
      {
        part: partName(6),
        asOf: '2026-11-06',
        rows: 8,
        sources: [{ key: keys.other, etag: etag(keys.other), rows: 8 }],
      },
    ]);
    expect(res).toMatchObject({ rowsIn: 179, rowsUsed: 179, rowsQuarantined: 0, expectedRows: 179 });
    // Every part file holds exactly the rows it lists; a coalesced part keeps its sources' order.
    for (const p of res.parts) {
      expect(await lines(artifacts, `batch/batch-parts-1/input/${p.part}`)).toHaveLength(p.rows);
    }
    const shared = await lines(artifacts, `batch/batch-parts-1/input/${partName(4)}`);
    expect([shared[0]!.split(',')[0], shared[10]!.split(',')[0], shared[25]!.split(',')[0]]).toEqual([
      'S1000000',
      'S2000000',
      'S3000000',
    ]);
    const { key } = parseS3Uri(res.manifestUri);
    expect(JSON.parse((await lines(artifacts, key)).join(''))).toEqual([
      { prefix: `s3://${artifacts}/batch/batch-parts-1/input/` },
      ...res.parts.map((p) => p.part),
    ]);
    expect(JSON.parse((await lines(artifacts, res.loadItemsKey)).join(''))).toEqual(
      res.parts.map(({ part, asOf, rows }) => ({ part, asOf, rows })),
    );
  });

  it('a duplicate across two files of one day is still quarantined when both are coalesced', async () => {
    const k1 = 'inference/dt=2026-11-07/a.csv';
    const k2 = 'inference/dt=2026-11-07/b.csv';
    const objects = [
      { key: k1, etag: await put(k1, csv(10, '2026-11-07', 'D')) },
      { key: k2, etag: await put(k2, csv(12, '2026-11-07', 'D')) }, // D000000..D000009 also in a.csv
    ];
    const res = await prepareInferenceData({
      s3,
      spec,
      featuresBucket: features,
      artifactsBucket: artifacts,
      objects,
      runId: 'batch-parts-2',
      segmentFeature: 'plan',
      ...settings,
      maxInvalidRowRatio: 0.5,
      targetRowsPerPart: 1_000,
    });
    expect(res.parts).toEqual([
      expect.objectContaining({
        rows: 12,
        sources: [expect.objectContaining({ key: k1, rows: 10 }), expect.objectContaining({ key: k2, rows: 2 })],
      }),
    ]);
    expect(res).toMatchObject({ rowsIn: 22, rowsUsed: 12, rowsQuarantined: 10 });
  });

  it('an aborted object adds no part and its rows never reach the shared part', async () => {
    const w = new PartWriter({
      s3,
      bucket: artifacts,
      prefix: 'batch/writer-1/input/',
      maxRows: 10,
      coalesceRows: 3,
      name: partName,
    });
    const spilled = w.begin('k/big', 'e0', '2026-11-08');
    for (let i = 0; i < 15; i++) await spilled.write(`big-${i}\n`);
    await spilled.abort(); // e.g. quarantined after its rows were streamed (one full part closed already)
    const small = w.begin('k/small', 'e1', '2026-11-08');
    await small.write('small-0\n');
    await small.abort();
    const good = w.begin('k/good', 'e2', '2026-11-08');
    for (let i = 0; i < 2; i++) await good.write(`good-${i}\n`);
    expect(await good.commit()).toBe(2);
    await w.close();
    expect(w.parts).toEqual([
      { part: partName(3), asOf: '2026-11-08', rows: 2, sources: [{ key: 'k/good', etag: 'e2', rows: 2 }] },
    ]);
    expect(await lines(artifacts, `batch/writer-1/input/${partName(3)}`)).toEqual(['good-0', 'good-1']);
  });
});
