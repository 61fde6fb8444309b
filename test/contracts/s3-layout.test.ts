import { ValidationError } from '../../contracts/errors';
import {
  BATCH_PREFIX,
  batchKeys,
  INFERENCE_PREFIX,
  LOAD_RESULTS_PREFIX,
  PREPARE_RESULTS_PREFIX,
  parseS3Uri,
  partitionDate,
  partitionOfPrefix,
  partitionPrefix,
  partName,
  QUARANTINE_PREFIX,
  quarantineKey,
  quarantinePrefix,
  quarantineSliceKey,
  RESULTS_PREFIX,
  reportKeys,
  resultsPrefix,
  S3UriSchema,
  s3Uri,
  TRAINING_PREFIX,
  trainingKeys,
} from '../../contracts/s3-layout';

describe('features bucket', () => {
  it('partitions are <base>dt=YYYY-MM-DD/', () => {
    expect(partitionPrefix(TRAINING_PREFIX, '2026-01-05')).toBe('training/dt=2026-01-05/');
    expect(partitionPrefix(INFERENCE_PREFIX, '2026-01-05')).toBe('inference/dt=2026-01-05/');
  });

  it.each([
    ['inference/dt=2026-01-05/a.csv', '2026-01-05'],
    ['training/dt=2024-02-29/x/y.csv', '2024-02-29'],
    ['dt=2026-01-05/a.csv', '2026-01-05'],
    ['inference/dt=2023-02-29/a.csv', undefined],
    ['inference/dt=2026-13-01/a.csv', undefined],
    ['inference/dt=2026-01-05', undefined],
    ['inference/a.csv', undefined],
    ['inference/xdt=2026-01-05/a.csv', undefined],
  ])('partitionDate(%s) = %s', (key, date) => {
    expect(partitionDate(key)).toBe(date);
  });

  it('partitionOfPrefix reads a listed partition prefix exactly', () => {
    expect(partitionOfPrefix(TRAINING_PREFIX, 'training/dt=2026-10-30/')).toBe('2026-10-30');
    expect(partitionOfPrefix(TRAINING_PREFIX, 'inference/dt=2026-10-30/')).toBeUndefined();
    expect(partitionOfPrefix(TRAINING_PREFIX, 'training/dt=2026-10-30/x/')).toBeUndefined();
    expect(partitionOfPrefix(TRAINING_PREFIX, 'training/other/')).toBeUndefined();
  });
});

describe('artifacts bucket', () => {
  it('training, reports and quarantine keys of a run', () => {
    expect(trainingKeys('r-1')).toEqual({
      prefix: 'training/r-1/',
      trainPrefix: 'training/r-1/train/',
      validationPrefix: 'training/r-1/validation/',
      train: 'training/r-1/train/part-00001.csv',
      validation: 'training/r-1/validation/part-00001.csv',
      preprocessing: 'training/r-1/preprocessing.json',
      modelPrefix: 'training/r-1/model/',
      checkpointPrefix: 'training/r-1/checkpoints/',
      candidateScoresPrefix: 'training/r-1/evaluation/candidate/',
      championScoresPrefix: 'training/r-1/evaluation/champion/',
      championInputPrefix: 'training/r-1/evaluation/champion-input/',
    });
    expect(reportKeys('r-1')).toEqual({
      validation: 'reports/r-1/validation.json',
      stats: 'reports/r-1/stats.json',
      evaluation: 'reports/r-1/evaluation.json',
      modelQuality: 'reports/r-1/model-quality.json',
      lineage: 'reports/r-1/lineage.json',
    });
    expect(quarantinePrefix('r-1')).toBe(`${QUARANTINE_PREFIX}r-1/`);
    expect(quarantineKey('r-1', 'inference/dt=2026-01-05/a.csv')).toBe('quarantine/r-1/inference/dt=2026-01-05/a.csv');
  });

  it('batch input and results of a run', () => {
    const { preparePartial, ...keys } = batchKeys('b-1');
    expect(keys).toEqual({
      prefix: `${BATCH_PREFIX}b-1/`,
      inputPrefix: 'batch/b-1/input/',
      manifest: 'batch/b-1/manifest.json',
      parts: 'batch/b-1/parts.json',
      objects: 'batch/b-1/objects.json',
      loadItems: 'batch/b-1/load-items.json',
      prepareTasks: 'batch/b-1/prepare-tasks.json',
      preparePlan: 'batch/b-1/prepare-plan.json',
    });
    expect(preparePartial(12)).toBe('batch/b-1/prepare/task-00012.json');
    // Both Distributed Maps' results sit under batch/, so the same lifecycle rule expires them.
    expect(PREPARE_RESULTS_PREFIX.startsWith(BATCH_PREFIX)).toBe(true);
    expect(quarantineSliceKey('b-1', 'inference/dt=2026-11-01/a.csv', 2, 3)).toBe(
      'quarantine/b-1/inference/dt=2026-11-01/a.csv.slice-2-of-3.csv',
    );
    // The LoadScores Distributed Map's results sit under batch/, so the same lifecycle rule expires them.
    expect(LOAD_RESULTS_PREFIX.startsWith(BATCH_PREFIX)).toBe(true);
    expect(resultsPrefix(3, 'b-1')).toBe('results/model_version=3/run=b-1/');
    expect(resultsPrefix(3, 'b-1').startsWith(RESULTS_PREFIX)).toBe(true);
    expect(partName(1)).toBe('part-00001.csv');
    expect(partName(123)).toBe('part-00123.csv');
    // A prepare task's parts carry its index: unique in a run whose tasks write in parallel, sorted by task.
    expect(partName(2, 7)).toBe('part-00007-00002.csv');
  });
});

describe('S3 URIs', () => {
  it('s3Uri and parseS3Uri round-trip', () => {
    const uri = s3Uri('bucket', 'reports/r-1/stats.json');
    expect(uri).toBe('s3://bucket/reports/r-1/stats.json');
    expect(parseS3Uri(uri)).toEqual({ bucket: 'bucket', key: 'reports/r-1/stats.json' });
    expect(parseS3Uri('s3://bucket/training/r-1/train/', { prefix: true })).toEqual({
      bucket: 'bucket',
      key: 'training/r-1/train/',
    });
  });

  it('a prefix URI may name the bucket alone', () => {
    expect(parseS3Uri('s3://bucket', { prefix: true })).toEqual({ bucket: 'bucket', key: '' });
    expect(parseS3Uri('s3://bucket/', { prefix: true })).toEqual({ bucket: 'bucket', key: '' });
  });

  it.each(['s3://bucket', 's3://bucket/', 'https://bucket/key', 'bucket/key', 's3:///key', ''])(
    'rejects %j as an object URI with a ValidationError naming it',
    (uri) => {
      expect(() => parseS3Uri(uri)).toThrow(ValidationError);
      expect(() => parseS3Uri(uri)).toThrow(`Not an S3 object URI (s3://bucket/key): "${uri}"`);
    },
  );

  it('S3UriSchema accepts object and prefix URIs with a valid bucket name', () => {
    expect(S3UriSchema.safeParse('s3://my-bucket/a/b.csv').success).toBe(true);
    expect(S3UriSchema.safeParse('s3://my-bucket/a/').success).toBe(true);
    expect(S3UriSchema.safeParse('s3://my-bucket/').success).toBe(false);
    expect(S3UriSchema.safeParse('s3://My_Bucket/a').success).toBe(false);
    expect(S3UriSchema.safeParse('https://my-bucket/a').success).toBe(false);
  });
});
