/**
 * PrepareInferenceData handler (the reducer of the prepare fan-out) against moto_server (S3 + DynamoDB): the metrics
 * it emits, after PlanPrepare and PrepareSlice (their cores) prepared the objects. A tiny model spec is
 * built by the data core from 60 training rows; the inference file shifts two features (drift) and carries two rows
 * with an unknown plan (quarantined).
 */

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PreparedData } from '../../../../contracts/states/batch';
import { contractColumns, loadDefaultContract } from '../../../../lambdas/data/contract';
import { readPreprocessingSpec } from '../../../../lambdas/data/preprocessing-spec';
import { createRun, getRun } from '../../../../lambdas/domain/tracking';
import { planPrepare } from '../../../../lambdas/functions/plan-prepare/core';
import { runPrepareTask } from '../../../../lambdas/functions/prepare-slice/core';
import { prepareTrainingData } from '../../../../lambdas/functions/prepare-training-data/core';
import { createBucket, createPipelineTable, testClients } from '../../../support/aws';
import { describeWithServers } from '../../../support/servers';

type Handler = (event: unknown) => Promise<PreparedData>;
type MetricsClass = typeof import('@aws-lambda-powertools/metrics').Metrics;
type MetricsInstance = InstanceType<MetricsClass>;

/** A fresh handler module (its cached clients read AWS_ENDPOINT_URL on first use) and the Metrics class it uses. */
function freshHandler(): { handler: Handler; Metrics: MetricsClass } {
  let out: { handler: Handler; Metrics: MetricsClass } | undefined;
  jest.isolateModules(() => {
    out = {
      handler: require('../../../../lambdas/functions/prepare-inference-data/handler').handler,
      Metrics: require('@aws-lambda-powertools/metrics').Metrics,
    };
  });
  return out!;
}

const contract = loadDefaultContract();
const PLANS = ['basic', 'standard', 'premium'];

/** Contract-valid rows; `shift` moves monthly_charges and logins_30d (drift); `bad` rows get an unknown plan. */
function csv(mode: 'training' | 'inference', dt: string, n: number, opts: { shift?: boolean; bad?: number[] } = {}) {
  const header = contractColumns(contract, mode);
  const lines = [header.join(',')];
  for (let i = 0; i < n; i++) {
    const tenure = (i * 7) % 72;
    const monthly = opts.shift ? 900 + ((i * 13) % 100) : 20 + ((i * 13) % 100);
    const v: Record<string, string> = {
      customer_id: `C${String(i).padStart(4, '0')}`,
      as_of: dt,
      churned: i % 3 === 0 ? '1' : '0',
      tenure_months: String(tenure),
      monthly_charges: monthly.toFixed(2),
      total_charges: (tenure * monthly).toFixed(2),
      support_tickets_90d: String(i % 9),
      logins_30d: String(opts.shift ? 5000 + i : (i * 5) % 60),
      has_autopay: i % 2 === 0 ? 'true' : 'false',
      plan: opts.bad?.includes(i) ? 'gold' : PLANS[i % 3]!,
      region: ['north', 'south', 'east', 'west'][i % 4]!,
    };
    lines.push(header.map((c) => v[c] ?? '').join(','));
  }
  return `${lines.join('\n')}\n`;
}

describeWithServers('PrepareInferenceData handler metrics (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let table: string;
  let features: string;
  let artifacts: string;
  let preprocessingUri: string;
  const saved: Record<string, string | undefined> = {};
  const ENV_NAMES = [
    'TABLE_NAME',
    'FEATURES_BUCKET',
    'ARTIFACTS_BUCKET',
    'SEGMENT_FEATURE',
    'MAX_INVALID_ROW_RATIO',
    'MAX_REPORTED_VIOLATIONS',
    'DRIFT_PSI_THRESHOLD',
    'FAIL_ON_DRIFT',
  ];

  const put = async (key: string, body: string) =>
    (await s3.send(new PutObjectCommand({ Bucket: features, Key: key, Body: body }))).ETag!;

  /** PlanPrepare and every PrepareSlice of the run; returns the plan (the reducer's input). */
  const prepareTasks = async (runId: string, objects: { key: string; etag: string; size: number }[]) => {
    const work = { count: objects.length, truncated: false, objects };
    const plan = await planPrepare({
      s3,
      runId,
      work,
      featuresBucket: features,
      artifactsBucket: artifacts,
      bytesPerTask: 1024 ** 2,
    });
    const spec = await readPreprocessingSpec(s3, preprocessingUri);
    for (let task = 0; task < plan.tasks; task++) {
      await runPrepareTask({
        s3,
        runId,
        task,
        spec,
        featuresBucket: features,
        artifactsBucket: artifacts,
        segmentFeature: 'plan',
        maxReportedViolations: 50,
        targetRowsPerPart: 1_000_000,
      });
    }
    return plan;
  };

  const event = async (runId: string, objects: { key: string; etag: string; size: number }[]) => ({
    runId,
    namePrefix: 'mlops-batch-test',
    work: { count: objects.length, truncated: false, objects },
    plan: await prepareTasks(runId, objects),
    model: {
      modelVersion: 1,
      modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1',
      modelName: 'mlops-batch-test-v1',
      preprocessingUri,
      created: true,
    },
  });

  /** Run the handler with addMetric/addDimension spied and publishing stubbed (no EMF output). */
  const runSpied = async (runId: string, objects: { key: string; etag: string; size: number }[]) => {
    const { handler, Metrics } = freshHandler();
    const addMetric = jest.spyOn(Metrics.prototype, 'addMetric');
    const addDimension = jest.spyOn(Metrics.prototype, 'addDimension');
    const singleMetric = jest.spyOn(Metrics.prototype, 'singleMetric');
    const publish = jest.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (
      this: MetricsInstance,
    ) {
      return this;
    });
    try {
      await createRun(doc, table, { runId, kind: 'batch', trigger: 'test', codeVersion: 'test' });
      const data = await handler(await event(runId, objects));
      /** Value of metric `name` per `feature` dimension of the instance it was added to. */
      const perFeature = new Map<string, number>();
      addMetric.mock.calls.forEach(([name, , value], i) => {
        if (name !== 'FeatureDriftPSI') return;
        const self = addMetric.mock.contexts[i];
        const dim = addDimension.mock.calls.find((_, j) => addDimension.mock.contexts[j] === self);
        expect(dim?.[0]).toBe('feature');
        perFeature.set(String(dim?.[1]), value);
      });
      return {
        data,
        calls: addMetric.mock.calls.map(([name, unit, value]) => ({ name, unit, value })),
        perFeature,
        singleMetrics: singleMetric.mock.calls.length,
        published: publish.mock.calls.length,
      };
    } finally {
      addMetric.mockRestore();
      addDimension.mockRestore();
      singleMetric.mockRestore();
      publish.mockRestore();
    }
  };

  beforeAll(async () => {
    for (const k of ENV_NAMES) saved[k] = process.env[k];
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    Object.assign(process.env, {
      TABLE_NAME: table,
      FEATURES_BUCKET: features,
      ARTIFACTS_BUCKET: artifacts,
      SEGMENT_FEATURE: 'plan',
      MAX_INVALID_ROW_RATIO: '0.2',
      MAX_REPORTED_VIOLATIONS: '50',
      DRIFT_PSI_THRESHOLD: '0.2',
      FAIL_ON_DRIFT: 'false',
    });
    const trainKey = 'training/dt=2026-10-01/part-0.csv';
    await put(trainKey, csv('training', '2026-10-01', 60));
    const trained = await prepareTrainingData({
      s3,
      contract,
      bucket: features,
      artifactsBucket: artifacts,
      keys: [trainKey],
      runId: 'train-metrics',
      validationShare: 0.2,
      maxInvalidRowRatio: 0.05,
      maxReportedViolations: 10,
    });
    preprocessingUri = trained.preprocessingUri;
  }, 60_000);

  afterAll(() => {
    for (const k of ENV_NAMES) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('emits RowsQuarantined, MaxFeatureDriftPsi and FeatureDriftPSI per feature (dimension feature)', async () => {
    const key = 'inference/dt=2026-11-01/drifted.csv';
    const body = csv('inference', '2026-11-01', 20, { shift: true, bad: [3, 11] });
    const etag = await put(key, body);
    const { data, calls, perFeature, singleMetrics, published } = await runSpied('batch-metrics-1', [
      { key, etag, size: body.length },
    ]);
    expect(data).toMatchObject({ rowsIn: 20, rowsUsed: 18, rowsQuarantined: 2, expectedRows: 18 });

    expect(calls).toContainEqual({ name: 'RowsQuarantined', unit: 'Count', value: 2 });
    const max = calls.find((c) => c.name === 'MaxFeatureDriftPsi');
    expect(max).toEqual({ name: 'MaxFeatureDriftPsi', unit: 'None', value: data.maxDriftPsi });
    expect(data.maxDriftPsi).toBeGreaterThan(0.2); // the shifted features drift

    // One FeatureDriftPSI record per contract feature, each in its own single-metric instance.
    const names = contract.features.map((f) => f.name).sort();
    expect([...perFeature.keys()].sort()).toEqual(names);
    expect(calls.filter((c) => c.name === 'FeatureDriftPSI').every((c) => c.unit === 'None')).toBe(true);
    expect(singleMetrics).toBe(names.length);
    expect(perFeature.get('monthly_charges')).toBeGreaterThan(0.2);
    expect(perFeature.get('logins_30d')).toBeGreaterThan(0.2);
    expect(Math.max(...perFeature.values())).toBeCloseTo(data.maxDriftPsi, 12);
    expect(published).toBeGreaterThan(0);

    // The same numbers are on the run record.
    const run = await getRun(doc, table, 'batch-metrics-1');
    expect(run).toMatchObject({ drift: { max: data.maxDriftPsi, threshold: 0.2 } });
    expect(JSON.stringify(run?.drift)).toMatch(/"drifted":\[[^\]]*monthly_charges=/);
  });

  it('every object rejected at file level: RowsQuarantined = rows in, no drift metric per feature, no parts', async () => {
    const key = 'inference/dt=2026-11-02/broken.csv';
    const body = csv('inference', '2026-11-02', 5).replace('customer_id', 'customerid');
    const etag = await put(key, body);
    const { data, calls, perFeature } = await runSpied('batch-metrics-2', [{ key, etag, size: body.length }]);
    expect(data).toMatchObject({ partCount: 0, expectedRows: 0, rowsUsed: 0, objectsQuarantined: 1, finalize: null });
    expect(calls).toContainEqual({ name: 'RowsQuarantined', unit: 'Count', value: data.rowsQuarantined });
    expect(calls).toContainEqual({ name: 'MaxFeatureDriftPsi', unit: 'None', value: 0 });
    expect(perFeature.size).toBe(0);
  });
});
