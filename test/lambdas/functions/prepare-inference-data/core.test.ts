import { IntegrityError, ValidationError } from '../../../../contracts/errors';
import { PreparedDataSchema } from '../../../../contracts/states/batch';
import { driftedFeatures, maxDrift } from '../../../../lambdas/data/stats';
import type { PrepareInferenceDataResult } from '../../../../lambdas/functions/prepare-inference-data/core';
import { toPreparedData, transformJobName } from '../../../../lambdas/functions/prepare-inference-data/core';

describe('transformJobName', () => {
  it('is deterministic, prefixed, valid for SageMaker and unique per run id', () => {
    const a = transformJobName('mlops-batch-dev', 'run-1');
    expect(a).toBe(transformJobName('mlops-batch-dev', 'run-1'));
    expect(a).toMatch(/^mlops-batch-dev-run-1-[0-9a-f]{8}$/);
    // Sanitizing makes these look alike; the hash of the original id keeps them apart.
    expect(transformJobName('p', 'a_b')).not.toBe(transformJobName('p', 'a.b'));
  });

  it('shortens long execution names to 63 characters', () => {
    const name = transformJobName('mlops-batch-prod', `${'x'.repeat(70)}_${'y'.repeat(9)}`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  });

  it('handles a run id of separators only and rejects an empty one', () => {
    expect(transformJobName('p', '___')).toMatch(/^p-[0-9a-f]{8}$/);
    expect(() => transformJobName('p', '')).toThrow(ValidationError);
    expect(() => transformJobName('x'.repeat(60), 'r')).toThrow(/too long/);
  });
});

const prepared = (over: Partial<PrepareInferenceDataResult> = {}): PrepareInferenceDataResult => ({
  runId: 'r1',
  contractVersion: '1.0.0',
  specRunId: 'train-1',
  manifestUri: 's3://art/batch/r1/manifest.json',
  partsUri: 's3://art/batch/r1/parts.json',
  loadItemsKey: 'batch/r1/load-items.json',
  inputPrefixUri: 's3://art/batch/r1/input/',
  parts: [
    {
      part: 'part-00001.csv',
      asOf: '2026-11-01',
      rows: 3,
      sources: [{ key: 'inference/dt=2026-11-01/a.csv', etag: 'e1', rows: 3 }],
    },
    {
      part: 'part-00002.csv',
      asOf: '2026-11-02',
      rows: 2,
      sources: [{ key: 'inference/dt=2026-11-02/b.csv', etag: 'e2', rows: 2 }],
    },
  ],
  rowsIn: 6,
  rowsUsed: 5,
  rowsQuarantined: 1,
  expectedRows: 5,
  quarantinedObjects: [],
  validationReportUri: 's3://art/reports/r1/validation.json',
  statsUri: 's3://art/reports/r1/stats.json',
  drift: { tenure_months: 0.05, plan: 0.31 },
  ...over,
});

describe('toPreparedData', () => {
  const p = { runId: 'r1', namePrefix: 'mlops-batch-dev', artifactsBucket: 'art', modelVersion: 4 };

  it('keeps counts and S3 keys only (no list) and points the output at the model version and run', () => {
    const d = toPreparedData(prepared(), p);
    expect(PreparedDataSchema.parse(d)).toEqual(d);
    expect(d).toMatchObject({
      outputUri: 's3://art/results/model_version=4/run=r1/',
      resultsBucket: 'art',
      resultsPrefix: 'results/model_version=4/run=r1/',
      partCount: 2,
      loadItemsKey: 'batch/r1/load-items.json',
      objectsQuarantined: 0,
      expectedRows: 5,
      maxDriftPsi: 0.31,
    });
    expect(d).not.toHaveProperty('parts');
    expect(d).not.toHaveProperty('quarantinedObjects');
  });

  it('refuses counts that do not add up', () => {
    expect(() => toPreparedData(prepared({ rowsQuarantined: 0 }), p)).toThrow(IntegrityError);
    expect(() => toPreparedData(prepared({ expectedRows: 4 }), p)).toThrow(/prepared counts disagree/);
  });
});

describe('drift helpers', () => {
  it('report the worst features over the threshold', () => {
    expect(maxDrift({})).toBe(0);
    expect(driftedFeatures({ a: 0.1, b: 0.5, c: 0.3 }, 0.2)).toEqual(['b=0.500', 'c=0.300']);
  });
});
