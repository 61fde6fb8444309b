import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { findPending, getLedgerItem } from '../../lambdas/domain/ledger';
import { commitScored } from '../../lambdas/domain/ledger-commit';
import { reconcile } from '../../lambdas/functions/reconcile/core';
import { objectCreatedEvent } from '../../local/runtime/events';
import { createBucket, createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

describeWithServers('arrival and reconcile against moto (S3 + DynamoDB)', { moto: true }, (env) => {
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let table: string;
  let bucket: string;

  const put = async (key: string, body: string) => {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
    return { key, etag: r.ETag ?? '', size: Buffer.byteLength(body) };
  };

  const objectCreated = (o: { key: string; etag: string; size: number }, sequencer?: string) =>
    objectCreatedEvent({
      account: '123456789012',
      region: 'us-east-1',
      bucket,
      ...o,
      sequencer,
      id: `ev-${Math.random()}`,
    });

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
    bucket = await createBucket(s3);
    process.env.TABLE_NAME = table;
    process.env.FEATURES_BUCKET = bucket;
  });

  it('the arrival handler writes one PENDING item for duplicate events and requeues a rewritten object', async () => {
    // Imported here: the handler builds its client lazily from AWS_ENDPOINT_URL, set by the harness.
    const { handler } = await import('../../lambdas/functions/arrival/handler');
    const v1 = await put('inference/dt=2026-03-01/a.csv', 'customer_id\nc1\n');
    const e1 = objectCreated(v1, '0001');
    expect(await handler(e1)).toMatchObject({ recorded: true, outcome: 'new' });
    expect(await handler(e1)).toMatchObject({ recorded: true, outcome: 'unchanged' });
    expect((await findPending(doc, table, 10)).objects).toEqual([
      { key: v1.key, etag: v1.etag.replace(/"/g, ''), size: v1.size },
    ]);

    const v2 = await put('inference/dt=2026-03-01/a.csv', 'customer_id\nc1\nc2\n');
    expect(await handler(objectCreated(v2, '0002'))).toMatchObject({ recorded: true, outcome: 'requeued' });
    // The late duplicate of the first event must not bring the old version back.
    expect(await handler(e1)).toMatchObject({ recorded: true, outcome: 'stale' });
    expect(await getLedgerItem(doc, table, v1.key)).toMatchObject({
      status: 'PENDING',
      etag: v2.etag.replace(/"/g, ''),
      size: v2.size,
    });

    expect(await handler(objectCreated(await put('training/dt=2026-03-01/t.csv', 'x')))).toMatchObject({
      recorded: false,
    });
    expect((await findPending(doc, table, 10)).objects).toHaveLength(1);
  });

  it('reconcile registers missed objects, leaves known versions alone and requeues changed ones', async () => {
    const { handler } = await import('../../lambdas/functions/arrival/handler');
    const a = await put('inference/dt=2026-03-01/a.csv', 'a');
    await handler(objectCreated(a)); // seen by an event
    await put('inference/dt=2026-03-01/b.csv', 'b'); // event missed
    await put('inference/dt=2026-03-02/c.csv', 'c'); // event missed
    await put('inference/dt=2026-03-02/_SUCCESS', '');
    await put('training/dt=2026-03-02/t.csv', 't');

    const params = { tableName: table, featuresBucket: bucket, pageSize: 2 };
    const first = await reconcile(s3, doc, params);
    expect(first).toMatchObject({ listed: 4, new: 2, requeued: 0, unchanged: 1, ignored: 1, outsideRange: 0 });
    expect((await findPending(doc, table, 10)).objects.map((o) => o.key)).toEqual([
      'inference/dt=2026-03-01/a.csv',
      'inference/dt=2026-03-01/b.csv',
      'inference/dt=2026-03-02/c.csv',
    ]);

    // A rerun changes nothing.
    expect(await reconcile(s3, doc, params)).toMatchObject({ listed: 4, new: 0, requeued: 0, unchanged: 3 });

    // b is rewritten without an event: reconcile puts it back to PENDING with the new etag.
    const b2 = await put('inference/dt=2026-03-01/b.csv', 'b, version 2');
    expect(await reconcile(s3, doc, params)).toMatchObject({ new: 0, requeued: 1, unchanged: 2 });
    expect(await getLedgerItem(doc, table, b2.key)).toMatchObject({
      etag: b2.etag.replace(/"/g, ''),
      size: b2.size,
      status: 'PENDING',
      source: 'reconcile',
    });
  });

  it('removes unscored items of deleted objects so they cannot fail every run; keeps scored history', async () => {
    const a = await put('inference/dt=2026-03-01/a.csv', 'a');
    const b = await put('inference/dt=2026-03-01/b.csv', 'b');
    const params = { tableName: table, featuresBucket: bucket };
    await reconcile(s3, doc, params);
    await commitScored(doc, table, [{ key: b.key, etag: b.etag }], 'run-1', 1);
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: a.key }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: b.key }));

    const r = await reconcile(s3, doc, params);
    expect(r).toMatchObject({ listed: 0, removed: 1, removedKeys: [a.key] });
    expect(await getLedgerItem(doc, table, a.key)).toBeUndefined();
    expect(await getLedgerItem(doc, table, b.key)).toMatchObject({ status: 'SCORED', runId: 'run-1' });
    expect((await findPending(doc, table, 10)).objects).toEqual([]);
  });

  it('backfills a date range only', async () => {
    for (const dt of ['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']) {
      await put(`inference/dt=${dt}/part.csv`, dt);
    }
    const r = await reconcile(
      s3,
      doc,
      { tableName: table, featuresBucket: bucket, pageSize: 1 },
      { from: '2026-02-28', to: '2026-03-01' },
    );
    expect(r).toMatchObject({ listed: 2, new: 2 });
    expect((await findPending(doc, table, 10)).objects.map((o) => o.key)).toEqual([
      'inference/dt=2026-02-28/part.csv',
      'inference/dt=2026-03-01/part.csv',
    ]);
  });
});
