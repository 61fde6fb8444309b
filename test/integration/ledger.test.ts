import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { findPending, getLedgerItem, normalizeEtag, registerArrival } from '../../lambdas/domain/ledger';
import { commitScored, markQuarantined } from '../../lambdas/domain/ledger-commit';
import { createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const key = (n: number) => `inference/dt=2026-01-${String(n).padStart(2, '0')}/part.csv`;

describeWithServers('ledger against moto DynamoDB', { moto: true }, (env) => {
  let doc: DynamoDBDocumentClient;
  let table: string;

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
  });

  it('duplicate arrivals write one item, unchanged', async () => {
    const first = await registerArrival(doc, table, { key: key(1), etag: 'e1', size: 10, source: 'event' });
    expect(first.outcome).toBe('new');
    const raw1 = await doc.send(new GetCommand({ TableName: table, Key: { pk: `OBJ#${key(1)}`, sk: 'OBJ' } }));
    // Listings quote the etag; the same version must not count as a change.
    const again = await registerArrival(doc, table, { key: key(1), etag: '"e1"', size: 10, source: 'reconcile' });
    expect(again.outcome).toBe('unchanged');
    const raw2 = await doc.send(new GetCommand({ TableName: table, Key: { pk: `OBJ#${key(1)}`, sk: 'OBJ' } }));
    expect(raw2.Item).toEqual(raw1.Item);
    expect(raw2.Item).toMatchObject({ gsi1pk: 'LEDGER#PENDING', gsi1sk: key(1), status: 'PENDING', etag: 'e1' });
    expect((await findPending(doc, table, 10)).objects).toEqual([{ key: key(1), etag: 'e1', size: 10 }]);
  });

  it('a new etag puts a SCORED object back to PENDING with the new etag and size', async () => {
    await registerArrival(doc, table, { key: key(1), etag: 'e1', size: 10, source: 'event' });
    const c = await commitScored(doc, table, [{ key: key(1), etag: 'e1' }], 'run-1', 3);
    expect(c).toEqual({ committed: [key(1)], skipped: [] });
    expect(await getLedgerItem(doc, table, key(1))).toMatchObject({
      status: 'SCORED',
      runId: 'run-1',
      modelVersion: 3,
    });
    expect((await findPending(doc, table, 10)).objects).toEqual([]);

    const r = await registerArrival(doc, table, { key: key(1), etag: 'e2', size: 20, source: 'event' });
    expect(r.outcome).toBe('requeued');
    const item = await getLedgerItem(doc, table, key(1));
    expect(item).toMatchObject({ status: 'PENDING', etag: 'e2', size: 20 });
    expect(item?.runId).toBeUndefined();
    expect(item?.modelVersion).toBeUndefined();
    expect(r.item).toEqual(item);
    expect((await findPending(doc, table, 10)).objects).toEqual([{ key: key(1), etag: 'e2', size: 20 }]);
  });

  it('ignores an event older than the one recorded (sequencer)', async () => {
    await registerArrival(doc, table, {
      key: key(1),
      etag: 'new',
      size: 2,
      source: 'event',
      sequencer: '0062E99A88DC407461',
    });
    const stale = await registerArrival(doc, table, {
      key: key(1),
      etag: 'old',
      size: 1,
      source: 'event',
      sequencer: '0062E99A88DC407460',
    });
    expect(stale.outcome).toBe('stale');
    expect((await getLedgerItem(doc, table, key(1)))?.etag).toBe('new');
    // A shorter sequencer compares after padding: "FF" < "0100".
    await registerArrival(doc, table, { key: key(2), etag: 'a', size: 1, source: 'event', sequencer: 'FF' });
    expect(
      (await registerArrival(doc, table, { key: key(2), etag: 'b', size: 1, source: 'event', sequencer: '0100' }))
        .outcome,
    ).toBe('requeued');
  });

  it('findPending ignores SCORED and QUARANTINED items, pages, caps and reports truncation', async () => {
    for (let i = 1; i <= 7; i++) {
      await registerArrival(doc, table, { key: key(i), etag: `e${i}`, size: i, source: 'reconcile' });
    }
    await commitScored(
      doc,
      table,
      [
        { key: key(2), etag: 'e2' },
        { key: key(4), etag: 'e4' },
      ],
      'run-1',
      1,
    );
    await markQuarantined(doc, table, [{ key: key(6), etag: 'e6', reason: 'header mismatch' }], 'run-1');

    const all = await findPending(doc, table, 100);
    expect(all).toEqual({
      objects: [1, 3, 5, 7].map((i) => ({ key: key(i), etag: `e${i}`, size: i })),
      truncated: false,
    });
    const capped = await findPending(doc, table, 3);
    expect(capped.objects.map((o) => o.key)).toEqual([key(1), key(3), key(5)]);
    expect(capped.truncated).toBe(true);
    const exact = await findPending(doc, table, 4);
    expect(exact.truncated).toBe(false);
    expect((await findPending(doc, table, 10, 'QUARANTINED')).objects).toEqual([{ key: key(6), etag: 'e6', size: 6 }]);
    expect(await getLedgerItem(doc, table, key(6))).toMatchObject({ status: 'QUARANTINED', reason: 'header mismatch' });
  });

  it('commitScored leaves an object rewritten since it was read PENDING and commits the rest', async () => {
    await registerArrival(doc, table, { key: key(1), etag: 'e1', size: 1, source: 'event' });
    await registerArrival(doc, table, { key: key(2), etag: 'e2', size: 1, source: 'event' });
    // key(2) is rewritten while the run scores the version it read.
    await registerArrival(doc, table, { key: key(2), etag: 'e2-new', size: 2, source: 'event' });

    const c = await commitScored(
      doc,
      table,
      [
        { key: key(1), etag: 'e1' },
        { key: key(2), etag: '"e2"' },
      ],
      'run-1',
      2,
    );
    expect(c.committed).toEqual([key(1)]);
    expect(c.skipped).toEqual([{ key: key(2), reason: 'object rewritten (etag e2 → e2-new)' }]);
    expect(await getLedgerItem(doc, table, key(1))).toMatchObject({ status: 'SCORED', runId: 'run-1' });
    expect(await getLedgerItem(doc, table, key(2))).toMatchObject({ status: 'PENDING', etag: 'e2-new' });
    expect((await findPending(doc, table, 10)).objects.map((o) => o.key)).toEqual([key(2)]);
  });

  it('re-committing the same run is idempotent; another run cannot re-score a SCORED version', async () => {
    await registerArrival(doc, table, { key: key(1), etag: 'e1', size: 1, source: 'event' });
    await commitScored(doc, table, [{ key: key(1), etag: 'e1' }], 'run-1', 1);
    const before = await getLedgerItem(doc, table, key(1));
    expect(await commitScored(doc, table, [{ key: key(1), etag: 'e1' }], 'run-1', 1)).toEqual({
      committed: [key(1)],
      skipped: [],
    });
    const other = await commitScored(doc, table, [{ key: key(1), etag: 'e1' }], 'run-2', 1);
    expect(other).toEqual({ committed: [], skipped: [{ key: key(1), reason: 'already scored by run run-1' }] });
    expect((await getLedgerItem(doc, table, key(1)))?.runId).toBe(before?.runId);
  });

  it('commits more than one transaction worth of objects (chunks of 100)', async () => {
    // moto needs ~40 ms per transaction item, so stay just above one chunk.
    const n = 105;
    const items = Array.from({ length: n }, (_, i) => ({ key: `inference/dt=2026-02-01/p${i}.csv`, etag: `x${i}` }));
    await Promise.all(items.map((it) => registerArrival(doc, table, { ...it, size: 1, source: 'reconcile' })));
    // One object in the second chunk changed meanwhile.
    await registerArrival(doc, table, { key: items[102]!.key, etag: 'changed', size: 1, source: 'event' });
    const c = await commitScored(doc, table, items, 'run-big', 1);
    expect(c.committed).toHaveLength(n - 1);
    expect(c.skipped.map((s) => s.key)).toEqual([items[102]!.key]);
    expect((await findPending(doc, table, 1000)).objects.map((o) => o.key)).toEqual([items[102]!.key]);
  });

  it('rejects bad input with a message naming the problem', async () => {
    await expect(registerArrival(doc, table, { key: '', etag: 'e', size: 1, source: 'event' })).rejects.toThrow(
      'ledger arrival: key is empty',
    );
    await expect(registerArrival(doc, table, { key: key(1), etag: 'e', size: -1, source: 'event' })).rejects.toThrow(
      /size must be a non-negative integer, got -1/,
    );
    await expect(
      commitScored(
        doc,
        table,
        [
          { key: key(1), etag: 'a' },
          { key: key(1), etag: 'b' },
        ],
        'r',
        1,
      ),
    ).rejects.toThrow(`commitScored: key ${key(1)} appears twice with different etags`);
    await expect(findPending(doc, table, 0)).rejects.toThrow('findPending: limit must be >= 1, got 0');
  });
});

describe('normalizeEtag', () => {
  it('strips the quotes S3 listings add', () => {
    expect(normalizeEtag('"abc-2"')).toBe('abc-2');
    expect(normalizeEtag('abc')).toBe('abc');
  });
});
