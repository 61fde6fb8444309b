/**
 * The BatchInference execution's state does not grow with the run: the synthesized definition runs on the local
 * runtime (LoadScores as a Distributed Map reading its items from S3 and writing its results to S3) for 10 and for
 * 5 000 parts, and the largest state after any top-level state is measured (bench/state-size.ts says what runs).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { measureStateSize, STATE_LIMIT_BYTES } from '../../bench/state-size';
import { type AslDefinition, extractDefinition } from '../../local/runtime/inventory';
import { synthesizeApp } from '../../local/runtime/synth';
import { createBucket } from '../support/aws';
import { describeWithServers } from '../support/servers';

const definition: AslDefinition = extractDefinition(synthesizeApp(), 'WorkflowStateMachine');

describeWithServers('BatchInference state size', { moto: true }, (env) => {
  let s3: S3Client;
  let bucket: string;
  beforeAll(async () => {
    s3 = new S3Client({ endpoint: env.moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
    bucket = await createBucket(s3);
  });
  afterAll(() => s3.destroy());

  it('is the same for 10 and 5 000 parts and far below 256 KB; every part result is read back', async () => {
    const small = await measureStateSize({ definition, s3, bucket, parts: 10, endpoint: env.moto.endpoint });
    const large = await measureStateSize({ definition, s3, bucket, parts: 5_000, endpoint: env.moto.endpoint });
    expect([small.status, small.error, large.status, large.error]).toEqual([
      'SUCCEEDED',
      undefined,
      'SUCCEEDED',
      undefined,
    ]);
    expect(small.rowsScored).toBe(10 * 100_000);
    expect(large.rowsScored).toBe(5_000 * 100_000);
    // Digits of the counts may differ (e.g. 1000000 vs 500000000 rows); nothing proportional to the parts may.
    expect(Math.abs(large.maxStateBytes - small.maxStateBytes)).toBeLessThanOrEqual(64);
    expect(large.maxStateBytes).toBeLessThan(STATE_LIMIT_BYTES / 32);
    // The previous design (part list and per-part results inline) would not fit at 5 000 parts.
    expect(large.inlineDesignBytes).toBeGreaterThan(STATE_LIMIT_BYTES);
  }, 600_000);
});
