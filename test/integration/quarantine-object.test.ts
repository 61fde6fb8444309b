/**
 * Whole-object quarantine on moto_server: a copy for a normal object, a pointer (no copy) for one over CopyObject's
 * 5 GiB limit or one gone since its arrival — so neither can fail a run forever.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { quarantineKey } from '../../contracts/s3-layout';
import { MAX_COPY_OBJECT_BYTES, quarantineObject } from '../../lambdas/data/quarantine';
import type { FileReport } from '../../lambdas/data/validation-report';
import { createBucket, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const KEY = 'inference/dt=2026-11-21/big.csv';
const report = (file: string): FileReport => ({
  file,
  status: 'failed',
  fileViolations: [],
  header: [],
  rowsIn: 0,
  rowsValid: 0,
  rowsQuarantined: 0,
  countsByRule: {},
});

describeWithServers('whole-object quarantine (moto)', { moto: true }, (env) => {
  let s3: S3Client;
  let features: string;
  let artifacts: string;
  let etag: string;

  const keysUnder = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: artifacts, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);
  const json = async (key: string) =>
    JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: artifacts, Key: key }))).Body!.transformToString());

  beforeAll(async () => {
    s3 = testClients(env.moto.endpoint).s3;
    features = await createBucket(s3);
    artifacts = await createBucket(s3);
    etag = (await s3.send(new PutObjectCommand({ Bucket: features, Key: KEY, Body: 'customer_id\n' }))).ETag!;
  });

  const args = (runId: string, extra: { sizeBytes?: number; missing?: boolean } = {}) => ({
    sourceBucket: features,
    sourceKey: KEY,
    sourceEtag: etag,
    bucket: artifacts,
    runId,
    report: report(KEY),
    ...extra,
  });

  it('an object of normal size is copied, with its report', async () => {
    const at = await quarantineObject(s3, args('batch-q-copy', { sizeBytes: 12 }));
    const key = quarantineKey('batch-q-copy', KEY);
    expect(at).toBe(`s3://${artifacts}/${key}`);
    expect(await keysUnder(key)).toEqual([key, `${key}.report.json`]);
  });

  it('an object over 5 GiB gets a pointer instead of a copy (CopyObject would refuse it), and the call succeeds', async () => {
    const size = MAX_COPY_OBJECT_BYTES + 1;
    const at = await quarantineObject(s3, args('batch-q-big', { sizeBytes: size }));
    const key = quarantineKey('batch-q-big', KEY);
    expect(at).toBe(`s3://${artifacts}/${key}.pointer.json`);
    expect(await keysUnder(key)).toEqual([`${key}.pointer.json`, `${key}.report.json`]);
    expect(await json(`${key}.pointer.json`)).toEqual({
      source: `s3://${features}/${KEY}`,
      etag,
      sizeBytes: size,
      reason: `larger than ${MAX_COPY_OBJECT_BYTES} bytes: not copied`,
    });
    expect((await json(`${key}.report.json`)).file).toBe(KEY);
  });

  it('an object deleted since its arrival gets a pointer (CopyObject: NoSuchKey), not a failure', async () => {
    const gone = 'inference/dt=2026-11-21/deleted.csv';
    const at = await quarantineObject(s3, { ...args('batch-q-gone'), sourceKey: gone, report: report(gone) });
    const key = quarantineKey('batch-q-gone', gone);
    expect(at).toBe(`s3://${artifacts}/${key}.pointer.json`);
    expect((await json(`${key}.pointer.json`)).reason).toMatch(/no longer exists/);
  });
});
