/**
 * The scheduled reconcile (request `{}`) against moto: it lists a bounded number of pages per invocation from the
 * cursor saved in the table, writes only ledger items that are missing or changed, continues where it stopped, and a
 * full pass covers every object (then starts over). Pruning is judged per covered key range.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { reconcileCursorKey } from '../../contracts/table-keys';
import { findPending, getLedgerItem, registerArrival } from '../../lambdas/domain/ledger';
import { commitScored } from '../../lambdas/domain/ledger-commit';
import { reconcile } from '../../lambdas/functions/reconcile/core';
import { createBucket, createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

describeWithServers('reconcile continues from a cursor (moto S3 + DynamoDB)', { moto: true }, (env) => {
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  let table: string;
  let bucket: string;

  const put = async (key: string, body = 'customer_id\nc1\n') => {
    const r = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }));
    return { key, etag: r.ETag ?? '', size: Buffer.byteLength(body) };
  };
  const keys = (n: number) =>
    Array.from({ length: n }, (_, i) => `inference/dt=2026-04-0${1 + (i % 3)}/f${String(i).padStart(3, '0')}.csv`);
  /** One scheduled invocation: 2 pages of 5 keys. */
  const scheduled = () => reconcile(s3, doc, { tableName: table, featuresBucket: bucket, pageSize: 5, maxPages: 2 });
  const cursorItem = async () =>
    (await doc.send(new GetCommand({ TableName: table, Key: reconcileCursorKey(), ConsistentRead: true }))).Item;

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    s3 = c.s3;
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
    bucket = await createBucket(s3);
  });

  it('covers 23 objects in 3 invocations of at most 10, continuing from the saved cursor', async () => {
    const all = keys(23).sort();
    for (const k of all) await put(k);
    const first = await scheduled();
    expect(first).toMatchObject({ listed: 10, new: 10, writesSkipped: 0 });
    expect(first.cursor).toMatchObject({ passCompleted: false, passes: 0, saved: true, nextStartAfter: all[9] });
    expect(await cursorItem()).toMatchObject({ startAfter: all[9], passes: 0 });
    // Only the first 10 keys are in the ledger so far.
    expect((await findPending(doc, table, 100)).objects.map((o) => o.key)).toEqual(all.slice(0, 10));

    const second = await scheduled();
    expect(second).toMatchObject({ listed: 10, new: 10 });
    expect(second.cursor).toMatchObject({ startedAfter: all[9], nextStartAfter: all[19], passCompleted: false });
    const third = await scheduled();
    expect(third).toMatchObject({ listed: 3, new: 3 });
    expect(third.cursor).toMatchObject({ startedAfter: all[19], passCompleted: true, passes: 1 });
    expect(third.cursor?.nextStartAfter).toBeUndefined();
    expect((await findPending(doc, table, 100)).objects.map((o) => o.key)).toEqual(all);
    const item = await cursorItem();
    expect(item?.startAfter).toBeUndefined();
    expect(item).toMatchObject({ passes: 1 });
    expect(typeof item?.lastPassCompletedAt).toBe('string');

    // The next pass starts over and writes nothing for the known versions.
    const again = await scheduled();
    expect(again).toMatchObject({ listed: 10, new: 0, requeued: 0, unchanged: 10, writesSkipped: 10 });
    expect(again.cursor).toMatchObject({ nextStartAfter: all[9] });
    expect(again.cursor?.startedAfter).toBeUndefined();
  });

  it('writes only what is missing or changed: a SCORED object stays SCORED, a rewritten one is requeued', async () => {
    const [a, b, c] = [
      'inference/dt=2026-04-01/a.csv',
      'inference/dt=2026-04-01/b.csv',
      'inference/dt=2026-04-01/c.csv',
    ];
    const va = await put(a!);
    const vb = await put(b!);
    for (const v of [va, vb]) await registerArrival(doc, table, { ...v, source: 'event' });
    await commitScored(doc, table, [{ key: a!, etag: va.etag.replace(/"/g, '') }], 'batch-1', 1);
    const before = await getLedgerItem(doc, table, a!);
    await put(b!, 'customer_id\nc1\nc2\n'); // b rewritten: a new etag
    await put(c!); // c never seen by an event

    const res = await reconcile(s3, doc, { tableName: table, featuresBucket: bucket });
    expect(res).toMatchObject({ listed: 3, new: 1, requeued: 1, unchanged: 1, writesSkipped: 1 });
    const after = await getLedgerItem(doc, table, a!);
    expect(after).toMatchObject({ status: 'SCORED', runId: 'batch-1' });
    // Not written at all: not even its updatedAt moved.
    expect(after?.updatedAt).toBe(before?.updatedAt);
    expect(await getLedgerItem(doc, table, b!)).toMatchObject({ status: 'PENDING' });
    expect(await getLedgerItem(doc, table, c!)).toMatchObject({ status: 'PENDING', source: 'reconcile' });
  });

  it('prunes a vanished PENDING object in the key range an invocation covered, not beyond it', async () => {
    const all = keys(14).sort();
    for (const k of all) await put(k);
    for (let i = 0; i < 2; i++) await scheduled(); // a full pass: 10 + 4
    expect((await findPending(doc, table, 100)).objects).toHaveLength(14);
    // One object early in the order and one late vanish before they are scored.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: all[2] }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: all[13] }));
    const first = await scheduled(); // covers the first 10 listed keys (all[0..10] without all[2]), not all[13]
    expect(first.cursor?.nextStartAfter).toBe(all[10]);
    expect(first).toMatchObject({ removed: 1, removedKeys: [all[2]] });
    expect(await getLedgerItem(doc, table, all[13]!)).toBeDefined();
    const second = await scheduled(); // the rest of the pass
    expect(second).toMatchObject({ removed: 1, removedKeys: [all[13]] });
    expect(second.cursor?.passCompleted).toBe(true);
  });

  it('an explicit request (prefix, range, startAfter) neither reads nor moves the cursor', async () => {
    for (const k of keys(12)) await put(k);
    await scheduled();
    const saved = await cursorItem();
    const res = await reconcile(s3, doc, { tableName: table, featuresBucket: bucket }, { from: '2026-04-02' });
    expect(res.cursor).toBeUndefined();
    expect(res.listed).toBe(8);
    expect(await cursorItem()).toEqual(saved);
  });
});
