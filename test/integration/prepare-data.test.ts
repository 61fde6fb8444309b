import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NotFoundError, ValidationError } from '../../contracts/errors';
import { parseS3Uri, partitionDate } from '../../contracts/s3-layout';
import { loadDefaultContract } from '../../lambdas/data/contract';
import { loadPreprocessingSpec, type PreprocessingSpec } from '../../lambdas/data/encoder';
import { readPreprocessingSpec } from '../../lambdas/data/preprocessing-spec';
import type { DatasetStats } from '../../lambdas/data/stats';
import type { ValidationReport } from '../../lambdas/data/validation-report';
import { prepareInferenceData } from '../../lambdas/functions/prepare-inference-data/core';
import {
  type PrepareTrainingDataResult,
  prepareTrainingData,
} from '../../lambdas/functions/prepare-training-data/core';
import { MIN_PART_BYTES, S3LineWriter } from '../../lambdas/platform/s3';
import { createBucket, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const contract = loadDefaultContract();
const TRAIN_HEADER =
  'customer_id,as_of,churned,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const INF_HEADER =
  'customer_id,as_of,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const PLANS = ['basic', 'standard', 'premium'];
const REGIONS = ['north', 'south', 'east', 'west', ''];

/** Deterministic synthetic rows (index-driven, no randomness). */
function rows(opts: {
  n: number;
  asOf: string;
  label: boolean;
  idPrefix?: string;
  plan?: (i: number) => string;
}): string[] {
  const out: string[] = [];
  for (let i = 0; i < opts.n; i++) {
    const tenure = (i * 7) % 72;
    const fields = [
      `${opts.idPrefix ?? 'C'}${String(i).padStart(6, '0')}`,
      opts.asOf,
      ...(opts.label ? [String((i * 13) % 5 === 0 ? 1 : 0)] : []),
      String(tenure),
      (20 + ((i * 31) % 100) + 0.25).toFixed(2),
      i % 10 === 0 ? '' : String(tenure * 50),
      String(i % 6),
      String((i * 3) % 40),
      i % 3 === 0 ? 'false' : 'true',
      opts.plan ? opts.plan(i) : PLANS[i % 3]!,
      REGIONS[i % 5]!,
    ];
    out.push(fields.join(','));
  }
  return out;
}

async function put(s3: S3Client, bucket: string, key: string, body: string | Buffer): Promise<string> {
  const res = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return res.ETag!;
}

async function text(s3: S3Client, uri: string): Promise<string> {
  const { bucket, key } = parseS3Uri(uri);
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToString('utf8');
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

const settings = { validationShare: 0.2, maxInvalidRowRatio: 0.05, maxReportedViolations: 50 };

describeWithServers('data core against moto S3', { moto: true }, (env) => {
  let s3: S3Client;
  let features: string;
  let artifacts: string;
  let trained: PrepareTrainingDataResult;
  let spec: PreprocessingSpec;

  beforeAll(async () => {
    s3 = testClients(env.moto.endpoint).s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    // Day 1: 400 good rows + 3 bad (unknown plan, out of range, ragged). Day 2: 300 good rows (other ids).
    const day1 = rows({ n: 400, asOf: '2026-11-01', label: true });
    day1.splice(10, 0, 'B000001,2026-11-01,0,5,10,50,0,1,true,gold,north');
    day1.splice(20, 0, 'B000002,2026-11-01,1,999,10,50,0,1,true,basic,north');
    day1.splice(30, 0, 'B000003,2026-11-01,1,5');
    await put(s3, features, 'training/dt=2026-11-01/snapshot.csv', `\uFEFF${TRAIN_HEADER}\r\n${day1.join('\r\n')}\r\n`);
    await put(
      s3,
      features,
      'training/dt=2026-11-02/snapshot.csv',
      `${TRAIN_HEADER}\n${rows({ n: 300, asOf: '2026-11-02', label: true, idPrefix: 'D' }).join('\n')}\n`,
    );
    // Outside the window used below, and not a CSV.
    await put(s3, features, 'training/dt=2026-10-01/old.csv', `${TRAIN_HEADER}\nbroken`);
    await put(s3, features, 'training/dt=2026-11-01/_SUCCESS', 'ok');

    trained = await prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      prefix: 'training/',
      window: { from: '2026-11-01', to: '2026-11-02' },
      runId: 'train-run-1',
      ...settings,
    });
    spec = await readPreprocessingSpec(s3, trained.preprocessingUri);
  });

  describe('prepareTrainingData', () => {
    it('returns balanced counts and the S3 layout of contracts/s3-layout.ts', () => {
      expect(trained).toMatchObject({
        runId: 'train-run-1',
        contractVersion: contract.version,
        files: 2,
        dataWindow: { from: '2026-11-01', to: '2026-11-02' },
        rowsIn: 703,
        rowsUsed: 700,
        rowsQuarantined: 3,
        featureCount: 14,
        trainUri: `s3://${artifacts}/training/train-run-1/train/part-00001.csv`,
        validationUri: `s3://${artifacts}/training/train-run-1/validation/part-00001.csv`,
        trainPrefixUri: `s3://${artifacts}/training/train-run-1/train/`,
        preprocessingUri: `s3://${artifacts}/training/train-run-1/preprocessing.json`,
        statsUri: `s3://${artifacts}/reports/train-run-1/stats.json`,
        validationReportUri: `s3://${artifacts}/reports/train-run-1/validation.json`,
      });
      expect(trained.trainRows + trained.validationRows).toBe(700);
      expect(trained.validationRows / 700).toBeGreaterThan(0.12);
      expect(trained.validationRows / 700).toBeLessThan(0.28);
      expect(JSON.stringify(trained).length).toBeLessThan(8 * 1024);
      expect(trained.featureStats.tenure_months).toMatchObject({ count: 700, nulls: 0, min: 0, max: 71 });
    });

    it('writes numeric train/validation CSVs, label first, no header', async () => {
      const train = (await text(s3, trained.trainUri)).trimEnd().split('\n');
      const validation = (await text(s3, trained.validationUri)).trimEnd().split('\n');
      expect(train).toHaveLength(trained.trainRows);
      expect(validation).toHaveLength(trained.validationRows);
      for (const line of [...train, ...validation]) {
        const cols = line.split(',');
        expect(cols).toHaveLength(15);
        expect(['0', '1']).toContain(cols[0]);
        expect(cols.every((c) => Number.isFinite(Number(c)) && c !== '')).toBe(true);
      }
      // C000000: churned=1 (0*13 % 5 == 0), tenure 0, charges 20.25, total_charges null → mean + indicator, tickets 0,
      // logins 0, autopay false, plan basic (1,0,0), region north (1,0,0,0)
      const impute = (spec.features[2] as { impute: number }).impute;
      const c0 = [...train, ...validation].find((l) => l.startsWith('1,0,20.25,'));
      expect(c0).toBe(`1,0,20.25,${impute},1,0,0,0,1,0,0,1,0,0,0`);
    });

    it('saves a loadable preprocessing spec with training histograms', () => {
      expect(spec.runId).toBe('train-run-1');
      expect(spec.columns).toHaveLength(14);
      expect(spec.trainingStats.rows).toBe(700);
      const tenure = spec.trainingStats.features.tenure_months;
      expect(tenure?.type).toBe('integer');
      if (tenure?.type !== 'category') {
        expect(tenure?.histogram.counts.reduce((a, b) => a + b, 0)).toBe(700);
        expect(tenure?.histogram.edges.length).toBeGreaterThan(3);
      }
    });

    it('quarantines rejected rows with the original columns, _line and _reasons', async () => {
      const q = await text(s3, `s3://${artifacts}/quarantine/train-run-1/training/dt=2026-11-01/snapshot.csv`);
      const lines = q.trimEnd().split('\n');
      expect(lines[0]).toBe(`${TRAIN_HEADER},_line,_reasons`);
      expect(lines).toHaveLength(4);
      expect(lines[1]).toBe(
        "B000001,2026-11-01,0,5,10,50,0,1,true,gold,north,12,unknown_category[plan]='gold': not one of basic|standard|premium",
      );
      expect(lines[2]).toBe(
        'B000002,2026-11-01,1,999,10,50,0,1,true,basic,north,22,"out_of_range[tenure_months]=\'999\': outside [0, 600]"',
      );
      expect(lines[3]).toBe(
        'B000003,2026-11-01,1,5,,,,,,,,32,"ragged_row=\'4 fields\': expected 11 fields (as in the header), got 4"',
      );
      expect(await exists(s3, artifacts, 'quarantine/train-run-1/training/dt=2026-11-02/snapshot.csv')).toBe(false);
    });

    it('writes the validation report and the stats', async () => {
      const report = JSON.parse(await text(s3, trained.validationReportUri)) as ValidationReport;
      expect(report).toMatchObject({
        status: 'passed',
        mode: 'training',
        rowsIn: 703,
        rowsValid: 700,
        rowsQuarantined: 3,
        countsByRule: { unknown_category: 1, out_of_range: 1, ragged_row: 1 },
      });
      expect(report.violations.map((v) => [v.file, v.line, v.column, v.rule])).toEqual([
        ['training/dt=2026-11-01/snapshot.csv', 12, 'plan', 'unknown_category'],
        ['training/dt=2026-11-01/snapshot.csv', 22, 'tenure_months', 'out_of_range'],
        ['training/dt=2026-11-01/snapshot.csv', 32, null, 'ragged_row'],
      ]);
      const stats = JSON.parse(await text(s3, trained.statsUri)) as DatasetStats;
      expect(stats.features.plan).toMatchObject({ type: 'category', count: 700 });
    });

    it('fails on a header mismatch with the report in S3 and no training set', async () => {
      await put(s3, features, 'bad-header/dt=2026-11-01/a.csv', `${TRAIN_HEADER.replace('plan', 'tier')}\n1,2\n`);
      await put(
        s3,
        features,
        'bad-header/dt=2026-11-01/b.csv',
        `${TRAIN_HEADER}\n${rows({ n: 50, asOf: '2026-11-01', label: true }).join('\n')}\n`,
      );
      const err = await prepareTrainingData({
        s3,
        contract,
        bucket: features,
        artifactsBucket: artifacts,
        prefix: 'bad-header/',
        runId: 'train-bad-header',
        ...settings,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('bad-header/dt=2026-11-01/a.csv');
      // The message names files and rules only: a header cell of a headerless file would be a customer's row.
      expect((err as Error).message).toContain('header_missing_column');
      expect((err as Error).message).toContain('header_unexpected_column');
      const report = JSON.parse(
        await text(s3, `s3://${artifacts}/reports/train-bad-header/validation.json`),
      ) as ValidationReport;
      expect(report.status).toBe('failed');
      expect(report.files.map((f) => f.status)).toEqual(['failed', 'ok']);
      expect(await exists(s3, artifacts, 'training/train-bad-header/train/part-00001.csv')).toBe(false);
    });

    it('fails when the invalid-row ratio is exceeded', async () => {
      const bad = rows({ n: 100, asOf: '2026-11-01', label: true, plan: (i) => (i < 10 ? 'gold' : 'basic') });
      await put(s3, features, 'too-bad/dt=2026-11-01/a.csv', `${TRAIN_HEADER}\n${bad.join('\n')}\n`);
      await expect(
        prepareTrainingData({
          s3,
          contract,
          bucket: features,
          artifactsBucket: artifacts,
          prefix: 'too-bad/',
          runId: 'train-too-bad',
          ...settings,
        }),
      ).rejects.toThrow(/Invalid row ratio 0\.1000 exceeds maxInvalidRowRatio 0\.05.*unknown_category=10/);
    });

    it('fails clearly when there is no data', async () => {
      await expect(
        prepareTrainingData({
          s3,
          contract,
          bucket: features,
          artifactsBucket: artifacts,
          prefix: 'training/',
          window: { from: '2030-01-01' },
          runId: 'train-none',
          ...settings,
        }),
      ).rejects.toThrow(NotFoundError);
    });

    it('accepts explicit keys', async () => {
      const res = await prepareTrainingData({
        s3,
        contract,
        bucket: features,
        artifactsBucket: artifacts,
        keys: ['training/dt=2026-11-02/snapshot.csv'],
        runId: 'train-keys',
        ...settings,
      });
      expect(res).toMatchObject({ files: 1, rowsIn: 300, rowsUsed: 300, rowsQuarantined: 0 });
    });
  });

  describe('prepareInferenceData', () => {
    it('writes parts (a big object its own, a small one coalesced), the manifest, parts.json, quarantine and drift', async () => {
      const k1 = 'inference/dt=2026-11-03/a.csv';
      const k2 = 'inference/dt=2026-11-03/b.csv';
      const k3 = 'inference/dt=2026-11-04/bad-header.csv';
      const k4 = 'inference/no-partition/c.csv';
      const k5 = 'inference/dt=2026-11-04/all-bad.csv';
      const a = rows({ n: 200, asOf: '2026-11-03', label: false });
      a.push('X000001,2026-11-02,5,10,50,0,1,true,basic,north'); // as_of differs from dt=
      a.push('C000005,2026-11-03,5,10,50,0,1,true,basic,north'); // duplicate id within the file
      const objects = [
        { key: k1, etag: await put(s3, features, k1, `${INF_HEADER}\n${a.join('\n')}\n`) },
        {
          key: k2,
          etag: await put(
            s3,
            features,
            k2,
            `${INF_HEADER}\r\n${rows({ n: 100, asOf: '2026-11-03', label: false, idPrefix: 'E' }).join('\r\n')}`,
          ),
        },
        { key: k3, etag: await put(s3, features, k3, 'id,foo\n1,2\n') },
        {
          key: k4,
          etag: await put(
            s3,
            features,
            k4,
            `${INF_HEADER}\n${rows({ n: 5, asOf: '2026-11-03', label: false }).join('\n')}\n`,
          ),
        },
        { key: k5, etag: await put(s3, features, k5, `${INF_HEADER}\nZ1,2026-11-04,1,1,1,1,1,true,gold,north\n`) },
      ];
      const res = await prepareInferenceData({
        s3,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        objects,
        runId: 'batch-run-1',
        segmentFeature: 'plan',
        ...settings,
        // a.csv (200 valid rows) is past the coalescing bound: a part of its own; b.csv (100) goes to the shared part
        targetRowsPerPart: 1_000,
        coalesceRows: 150,
      });
      expect(res).toMatchObject({
        runId: 'batch-run-1',
        specRunId: 'train-run-1',
        manifestUri: `s3://${artifacts}/batch/batch-run-1/manifest.json`,
        partsUri: `s3://${artifacts}/batch/batch-run-1/parts.json`,
        parts: [
          {
            part: 'part-00001.csv',
            asOf: '2026-11-03',
            rows: 200,
            sources: [{ key: k1, etag: objects[0]!.etag, rows: 200 }],
          },
          {
            part: 'part-00002.csv',
            asOf: '2026-11-03',
            rows: 100,
            sources: [{ key: k2, etag: objects[1]!.etag, rows: 100 }],
          },
        ],
        rowsIn: 202 + 100 + 1 + 1,
        rowsUsed: 300,
        rowsQuarantined: 4,
        expectedRows: 300,
        quarantinedObjects: [k5, k4, k3].sort(), // objects are processed in key order
      });
      expect(JSON.parse(await text(s3, res.manifestUri))).toEqual([
        { prefix: `s3://${artifacts}/batch/batch-run-1/input/` },
        'part-00001.csv',
        'part-00002.csv',
      ]);
      expect(JSON.parse(await text(s3, res.partsUri))).toEqual({
        runId: 'batch-run-1',
        parts: res.parts,
        rowsIn: 304,
        rowsUsed: 300,
        rowsQuarantined: 4,
        expectedRows: 300,
        quarantinedObjects: [k5, k4, k3].sort(), // objects are processed in key order
      });
      // What the LoadScores Distributed Map reads: per part only what the loader needs.
      expect(JSON.parse(await text(s3, `s3://${artifacts}/${res.loadItemsKey}`))).toEqual([
        { part: 'part-00001.csv', asOf: '2026-11-03', rows: 200 },
        { part: 'part-00002.csv', asOf: '2026-11-03', rows: 100 },
      ]);
      const part1 = (await text(s3, `s3://${artifacts}/batch/batch-run-1/input/part-00001.csv`)).trimEnd().split('\n');
      expect(part1).toHaveLength(200);
      const impute = (spec.features[2] as { impute: number }).impute;
      expect(part1[0]).toBe(`C000000,basic,0,20.25,${impute},1,0,0,0,1,0,0,1,0,0,0`);
      expect(part1.every((l) => l.split(',').length === 16)).toBe(true);
      // rejected rows of a readable object → quarantine CSV; whole objects → copies + report
      const q1 = (await text(s3, `s3://${artifacts}/quarantine/batch-run-1/${k1}`)).trimEnd().split('\n');
      expect(q1.map((l) => l.split(',').slice(-2)[0])).toEqual(['_line', '202', '203']);
      expect(q1[1]).toContain(
        "as_of_mismatch[as_of]='2026-11-02': as_of differs from the file's partition dt=2026-11-03",
      );
      expect(q1[2]).toContain("duplicate_entity[customer_id]='C000005': entity id already seen at line 7");
      expect(await text(s3, `s3://${artifacts}/quarantine/batch-run-1/${k3}`)).toBe('id,foo\n1,2\n');
      expect(await exists(s3, artifacts, `quarantine/batch-run-1/${k3}.report.json`)).toBe(true);
      expect(await exists(s3, artifacts, `quarantine/batch-run-1/${k4}`)).toBe(true);
      const report = JSON.parse(await text(s3, res.validationReportUri)) as ValidationReport;
      expect(report.countsByRule).toMatchObject({
        header_missing_column: 10,
        header_unexpected_column: 2,
        missing_partition_date: 1,
        as_of_mismatch: 1,
        duplicate_entity: 1,
        unknown_category: 1,
      });
      // same generator as training → small PSI for every feature
      expect(Object.keys(res.drift).sort()).toEqual(contract.features.map((f) => f.name).sort());
      for (const v of Object.values(res.drift)) expect(v).toBeLessThan(0.1);
      const stats = JSON.parse(await text(s3, res.statsUri)) as { drift: Record<string, number>; rows: number };
      expect(stats).toMatchObject({ rows: 300, drift: res.drift });
    });

    it('detects drift of a shifted feature', async () => {
      const key = 'drift/dt=2026-11-05/a.csv';
      const body = `${INF_HEADER}\n${rows({ n: 300, asOf: '2026-11-05', label: false, plan: () => 'premium' }).join('\n')}\n`;
      const res = await prepareInferenceData({
        s3,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        objects: [{ key, etag: await put(s3, features, key, body) }],
        runId: 'batch-drift',
        segmentFeature: 'plan',
        ...settings,
      });
      // training plan shares ≈ 1/3 each; now all premium: PSI ≈ 2·(−1/3·ln(1e-4·3)) + (2/3)·ln(3) ≈ 6.1
      expect(res.drift.plan).toBeGreaterThan(3);
      expect(res.drift.tenure_months).toBeLessThan(0.1);
    });

    it('quarantines an object whose ETag changed since the ledger saw it (the new version is scored on its own)', async () => {
      const key = 'inference/dt=2026-11-06/a.csv';
      await put(s3, features, key, `${INF_HEADER}\n${rows({ n: 5, asOf: '2026-11-06', label: false }).join('\n')}\n`);
      const res = await prepareInferenceData({
        s3,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        objects: [{ key, etag: '"0123456789abcdef0123456789abcdef"' }],
        runId: 'batch-etag',
        segmentFeature: 'plan',
        ...settings,
      });
      expect(res).toMatchObject({ expectedRows: 0, quarantinedObjects: [key] });
    });

    it('fails over the invalid-row ratio; nothing usable → no parts, every object quarantined', async () => {
      const key = 'inference/dt=2026-11-07/a.csv';
      const body = `${INF_HEADER}\n${rows({ n: 20, asOf: '2026-11-07', label: false, plan: (i) => (i < 5 ? 'gold' : 'basic') }).join('\n')}\n`;
      const etag = await put(s3, features, key, body);
      const base = {
        s3,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        segmentFeature: 'plan',
        ...settings,
      };
      await expect(prepareInferenceData({ ...base, objects: [{ key, etag }], runId: 'batch-ratio' })).rejects.toThrow(
        /Invalid row ratio 0\.2500 exceeds/,
      );
      const report = JSON.parse(
        await text(s3, `s3://${artifacts}/reports/batch-ratio/validation.json`),
      ) as ValidationReport;
      expect(report).toMatchObject({ status: 'failed', rowsIn: 20, rowsQuarantined: 5 });
      const k2 = 'inference/dt=2026-11-07/hdr.csv';
      const e2 = await put(s3, features, k2, 'nope\n1\n');
      // Every object rejected at file level: no failure (one bad file must not block later runs) but nothing to
      // transform; the object is returned as quarantined for the ledger.
      const none = await prepareInferenceData({ ...base, objects: [{ key: k2, etag: e2 }], runId: 'batch-none' });
      expect(none).toMatchObject({ parts: [], rowsUsed: 0, expectedRows: 0, quarantinedObjects: [k2] });
      expect(none.rowsIn).toBe(none.rowsQuarantined);
      expect(JSON.parse(await text(s3, none.partsUri))).toMatchObject({
        parts: [],
        expectedRows: 0,
        quarantinedObjects: [k2],
      });
      expect(JSON.parse(await text(s3, none.validationReportUri))).toMatchObject({
        files: [{ file: k2, status: 'failed' }],
      });
      await expect(
        prepareInferenceData({
          ...base,
          segmentFeature: 'tenure_months',
          objects: [{ key, etag }],
          runId: 'batch-seg',
        }),
      ).rejects.toThrow(/Segment feature "tenure_months" must be a category feature/);
    });

    it('the spec loaded from S3 round-trips', async () => {
      const raw = await text(s3, trained.preprocessingUri);
      expect(loadPreprocessingSpec(raw, 'x')).toEqual(spec);
      expect(partitionDate('a/dt=2026-02-30/x.csv')).toBeUndefined();
      expect(partitionDate('a/dt=2026-02-28/x.csv')).toBe('2026-02-28');
    });
  });

  describe('S3LineWriter', () => {
    it('switches to a multipart upload past one part and keeps every line', async () => {
      const w = new S3LineWriter(s3, artifacts, 'multipart/test.csv', { partBytes: MIN_PART_BYTES });
      const line = `${'x'.repeat(1000)}\n`;
      const n = Math.ceil((MIN_PART_BYTES * 2.5) / line.length);
      for (let i = 0; i < n; i++) if (w.write(line)) await w.flush();
      const res = await w.close();
      expect(res).toMatchObject({ lines: n, bytes: n * line.length });
      const head = await s3.send(new HeadObjectCommand({ Bucket: artifacts, Key: 'multipart/test.csv' }));
      expect(head.ContentLength).toBe(n * line.length);
      expect(head.ETag).toMatch(/-3"$/); // three parts
      const list = await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: 'multipart/' }));
      expect(list.KeyCount).toBe(1);
    });
  });
});
