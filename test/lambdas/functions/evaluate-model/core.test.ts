import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  decideGate,
  evaluateModel,
  metricsFromFinalMetricDataList,
  productionRef,
} from '../../../../lambdas/functions/evaluate-model/core';

const T = { minAuc: 0.7, maxLogloss: 0.6, maxAucDrop: 0.01 };
const prod = (auc?: number) => ({ version: 3, arn: 'arn:p/3', auc, logloss: 0.4 });

describe('metricsFromFinalMetricDataList', () => {
  it('picks the validation metrics, ignoring train metrics', () => {
    expect(
      metricsFromFinalMetricDataList([
        { MetricName: 'train:auc', Value: 0.99 },
        { MetricName: 'validation:auc', Value: 0.8 },
        { MetricName: 'validation:logloss', Value: 0.45 },
      ]),
    ).toEqual({ auc: 0.8, logloss: 0.45 });
    expect(metricsFromFinalMetricDataList([])).toEqual({ auc: undefined, logloss: undefined });
  });
});

describe('decideGate', () => {
  it('passes a good candidate without Production, noting the skipped comparison', () => {
    expect(decideGate({ auc: 0.8, logloss: 0.4 }, null, T)).toEqual({
      passed: true,
      reasons: [],
      notes: ['no Production model (no Approved version): comparison with Production skipped'],
    });
  });

  it('fails on each absolute threshold with metric, value and limit', () => {
    const d = decideGate({ auc: 0.65, logloss: 0.7 }, null, T);
    expect(d.passed).toBe(false);
    expect(d.reasons).toEqual(['validation:auc 0.65 < minimum 0.7', 'validation:logloss 0.7 > maximum 0.6']);
  });

  it('the thresholds themselves pass (inclusive)', () => {
    expect(decideGate({ auc: 0.7, logloss: 0.6 }, null, T).passed).toBe(true);
  });

  it('missing metrics fail the gate and say how to fix it', () => {
    const d = decideGate({}, null, T);
    expect(d.passed).toBe(false);
    expect(d.reasons[0]).toMatch(/validation:auc missing .*eval_metric must include auc/);
    expect(d.reasons[1]).toMatch(/validation:logloss missing .*eval_metric must include logloss/);
  });

  it('NaN metrics fail instead of passing silently', () => {
    expect(decideGate({ auc: Number.NaN, logloss: 0.4 }, null, T).passed).toBe(false);
  });

  it('compares with Production within the allowed drop', () => {
    expect(decideGate({ auc: 0.795, logloss: 0.4 }, prod(0.8), T).passed).toBe(true);
    expect(decideGate({ auc: 0.79, logloss: 0.4 }, prod(0.8), T).passed).toBe(true); // exactly the allowed drop
    const worse = decideGate({ auc: 0.78, logloss: 0.4 }, prod(0.8), T);
    expect(worse.passed).toBe(false);
    expect(worse.reasons).toEqual(['validation:auc 0.78 is 0.02 below Production version 3 (0.8); allowed drop 0.01']);
  });

  it('a Production model without a recorded AUC is noted, not compared', () => {
    const d = decideGate({ auc: 0.75, logloss: 0.4 }, prod(undefined), T);
    expect(d).toEqual({
      passed: true,
      reasons: [],
      notes: ['Production version 3 records no validation AUC: comparison skipped'],
    });
  });
});

const s3 = mockClient(S3Client);
const sm = mockClient(SageMakerClient);
/** Minimal GetObject body (the core only calls transformToString). */
const body = (text: string) => ({ transformToString: async () => text }) as never;

describe('productionRef / evaluateModel', () => {
  beforeEach(() => {
    s3.reset();
    sm.reset();
  });

  it('reads the Production AUC from its evaluation report when the metadata lacks it', async () => {
    s3.on(GetObjectCommand, { Bucket: 'art', Key: 'reports/r0/evaluation.json' }).resolves({
      Body: body(JSON.stringify({ metrics: { auc: 0.81, logloss: 0.3 } })),
    });
    const ref = await productionRef(new S3Client({}), {
      arn: 'arn:p/2',
      version: 2,
      groupName: 'g',
      status: 'Approved',
      createdAt: undefined,
      runId: 'r0',
      metrics: {},
      metadata: {},
      imageUri: undefined,
      modelDataUrl: undefined,
      preprocessingUri: undefined,
      evaluationReportUri: 's3://art/reports/r0/evaluation.json',
      approvalDescription: undefined,
      lastModifiedBy: undefined,
    });
    expect(ref).toEqual({ version: 2, arn: 'arn:p/2', runId: 'r0', auc: 0.81, logloss: 0.3 });
  });

  it('writes the report and returns the decision against the newest Approved package', async () => {
    sm.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/4' } as never,
      ],
    });
    sm.on(DescribeModelPackageCommand).resolves({
      ModelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/g/4',
      ModelPackageVersion: 4,
      ModelApprovalStatus: 'Approved',
      CustomerMetadataProperties: { runId: 'old', validationAuc: '0.9', validationLogloss: '0.3' },
    });
    s3.on(PutObjectCommand).resolves({});
    const ev = await evaluateModel(
      { s3: new S3Client({}), sageMaker: new SageMakerClient({}) },
      {
        runId: 'r1',
        training: {
          TrainingJobName: 'r1-a0',
          TrainingJobStatus: 'Completed',
          ModelArtifacts: { S3ModelArtifacts: 's3://art/training/r1/model/r1-a0/output/model.tar.gz' },
          FinalMetricDataList: [
            { MetricName: 'validation:auc', Value: 0.85 },
            { MetricName: 'validation:logloss', Value: 0.35 },
          ],
        },
        thresholds: T,
        artifactsBucket: 'art',
        modelPackageGroupName: 'g',
      },
    );
    expect(ev).toMatchObject({
      passed: false,
      metrics: { auc: 0.85, logloss: 0.35 },
      production: { version: 4, auc: 0.9, runId: 'old' },
      reportUri: 's3://art/reports/r1/evaluation.json',
    });
    expect(ev.reasons[0]).toMatch(/below Production version 4/);
    expect(sm).toHaveReceivedCommandWith(ListModelPackagesCommand, {
      SortOrder: 'Descending',
      ModelApprovalStatus: 'Approved',
    });
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: 'art', Key: 'reports/r1/evaluation.json', ContentType: 'application/json' });
    expect(JSON.parse(String(put.Body))).toMatchObject({
      runId: 'r1',
      trainingJobName: 'r1-a0',
      passed: false,
      finalMetricDataList: [{ MetricName: 'validation:auc', Value: 0.85 }, expect.anything()],
    });
  });
});
