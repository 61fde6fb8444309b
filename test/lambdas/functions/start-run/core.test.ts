import { createHash } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { trainingJobBaseName } from '../../../../contracts/states/training';
import { listTrainingPartitions, resolveDataWindow } from '../../../../lambdas/functions/start-run/core';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const s3 = mockClient(S3Client);

describe('start-run core', () => {
  beforeEach(() => s3.reset());

  it('lists dt= partitions across pages, ignoring other prefixes, ascending', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        CommonPrefixes: [{ Prefix: 'training/dt=2026-10-31/' }, { Prefix: 'training/tmp/' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .resolvesOnce({ CommonPrefixes: [{ Prefix: 'training/dt=2026-10-30/' }, { Prefix: 'training/dt=bad/' }] });
    await expect(listTrainingPartitions(new S3Client({}), 'feat')).resolves.toEqual(['2026-10-30', '2026-10-31']);
    expect(s3.commandCalls(ListObjectsV2Command)[1]!.args[0].input).toMatchObject({
      Bucket: 'feat',
      Prefix: 'training/',
      Delimiter: '/',
      ContinuationToken: 't1',
    });
  });

  it('resolves the window inclusively; open bounds take everything', () => {
    const parts = ['2026-01-01', '2026-01-02', '2026-02-01'];
    expect(resolveDataWindow(parts, undefined, 'b')).toEqual({
      from: '2026-01-01',
      to: '2026-02-01',
      partitions: parts,
    });
    expect(resolveDataWindow(parts, { from: '2026-01-02', to: '2026-01-31' }, 'b')).toEqual({
      from: '2026-01-02',
      to: '2026-01-02',
      partitions: ['2026-01-02'],
    });
    expect(resolveDataWindow(parts, { to: '2026-01-01' }, 'b').partitions).toEqual(['2026-01-01']);
  });

  it('an empty window names the bucket, the window and what exists', () => {
    expect(() => resolveDataWindow(['2026-01-01'], { from: '2027-01-01' }, 'feat')).toThrow(
      'No training partitions s3://feat/training/dt=YYYY-MM-DD/ within data window 2027-01-01..(open) (found 1 partition(s): 2026-01-01 .. 2026-01-01)',
    );
    expect(() => resolveDataWindow([], undefined, 'feat')).toThrow(/found 0 partition\(s\)\)$/);
  });

  it('derives a valid, deterministic training job base name from any run id', () => {
    expect(trainingJobBaseName('train-2026-11-26', sha)).toBe('train-2026-11-26');
    const odd = trainingJobBaseName('_manual_run_2026', sha);
    expect(odd).toMatch(/^manual-run-2026-[0-9a-f]{8}$/);
    expect(trainingJobBaseName('_manual_run_2026', sha)).toBe(odd);
    const long = trainingJobBaseName('x'.repeat(80), sha);
    expect(long.length).toBeLessThanOrEqual(59);
    expect(`${long}-a10`).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    expect(trainingJobBaseName('___', sha)).toMatch(/^run-[0-9a-f]{8}$/);
    // two long ids with the same prefix still differ
    expect(trainingJobBaseName(`${'y'.repeat(70)}1`, sha)).not.toBe(trainingJobBaseName(`${'y'.repeat(70)}2`, sha));
  });
});
