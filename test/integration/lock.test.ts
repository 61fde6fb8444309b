import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../contracts/errors';
import { acquireLock, acquireLockOrThrow, getLock, releaseLock, renewLock } from '../../lambdas/domain/lock';
import { docClient } from '../../lambdas/platform/clients';
import { createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const t0 = new Date('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describeWithServers('batch lock against moto DynamoDB', { moto: true }, (env) => {
  let doc: DynamoDBDocumentClient;
  let table: string;

  beforeEach(async () => {
    const c = testClients(env.moto.endpoint);
    doc = c.doc;
    table = await createPipelineTable(c.ddb);
  });

  it('under contention exactly one of many concurrent runs acquires the lock (5 rounds)', async () => {
    // All eight calls are in flight at once, through the handlers' own client: against a loopback emulator it uses
    // one connection (lambdas/platform/clients.ts), because moto's conditional writes are not atomic across its threads.
    const serial = docClient();
    for (let round = 0; round < 5; round++) {
      const owners = Array.from({ length: 8 }, (_, i) => `run-${round}-${i}`);
      const results = await Promise.all(
        owners.map((owner) => acquireLock(serial, table, { owner, leaseSeconds: 600, now: t0 })),
      );
      const winners = results.filter((r) => r.acquired);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      if (!winner.acquired) throw new Error('unreachable');
      for (const r of results.filter((x) => !x.acquired)) {
        expect(r).toEqual({ acquired: false, heldBy: winner.owner, leaseExpiresAt: t0.getTime() / 1000 + 600 });
      }
      expect(await getLock(doc, table)).toMatchObject({
        owner: winner.owner,
        leaseExpiresAt: t0.getTime() / 1000 + 600,
      });
      expect(await releaseLock(doc, table, winner.owner)).toEqual({ released: true });
    }
  });

  it('the holder may re-acquire (retried AcquireLock), extending the lease', async () => {
    await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 60, now: t0 });
    const again = await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 60, now: at(30) });
    expect(again).toEqual({ acquired: true, owner: 'run-a', leaseExpiresAt: t0.getTime() / 1000 + 90 });
  });

  it('an expired lease can be taken over; the previous holder can then neither release nor renew', async () => {
    await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 60, now: t0 });
    expect((await acquireLock(doc, table, { owner: 'run-b', leaseSeconds: 60, now: at(59) })).acquired).toBe(false);
    const taken = await acquireLock(doc, table, { owner: 'run-b', leaseSeconds: 60, now: at(60) });
    expect(taken).toEqual({ acquired: true, owner: 'run-b', leaseExpiresAt: t0.getTime() / 1000 + 120 });

    expect(await releaseLock(doc, table, 'run-a')).toEqual({ released: false, heldBy: 'run-b' });
    expect((await getLock(doc, table))?.owner).toBe('run-b');
    await expect(renewLock(doc, table, { owner: 'run-a', leaseSeconds: 60, now: at(61) })).rejects.toThrow(
      ConflictError,
    );
    expect(await renewLock(doc, table, { owner: 'run-b', leaseSeconds: 300, now: at(61) })).toEqual({
      leaseExpiresAt: t0.getTime() / 1000 + 361,
    });
  });

  it('with an execution, another execution of the same run id can neither re-acquire, renew nor release the lock', async () => {
    const first = 'arn:aws:states:us-east-1:123456789012:execution:batch:run-a@2026-03-01T10:00:00.000Z';
    const second = 'arn:aws:states:us-east-1:123456789012:execution:batch:run-a@2026-03-01T10:00:20.000Z';
    await acquireLock(doc, table, { owner: 'run-a', execution: first, leaseSeconds: 60, now: t0 });
    expect(await acquireLock(doc, table, { owner: 'run-a', execution: second, leaseSeconds: 60, now: at(20) })).toEqual(
      { acquired: false, heldBy: 'run-a', leaseExpiresAt: t0.getTime() / 1000 + 60 },
    );
    // Nor a caller that names the run id only.
    expect((await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 60, now: at(20) })).acquired).toBe(false);
    await expect(
      renewLock(doc, table, { owner: 'run-a', execution: second, leaseSeconds: 600, now: at(20) }),
    ).rejects.toThrow('Lock batch is not held by this execution of run-a (held by another execution of run-a)');
    expect(await releaseLock(doc, table, 'run-a', 'batch', second)).toEqual({ released: false, heldBy: 'run-a' });
    expect(await releaseLock(doc, table, 'run-a')).toEqual({ released: false, heldBy: 'run-a' });
    expect(await getLock(doc, table)).toEqual({
      owner: 'run-a',
      execution: first,
      leaseExpiresAt: t0.getTime() / 1000 + 60,
      acquiredAt: t0.toISOString(),
    });
    // The holder itself: re-acquire (a retried AcquireLock), renew, release.
    expect(
      (await acquireLock(doc, table, { owner: 'run-a', execution: first, leaseSeconds: 60, now: at(30) })).acquired,
    ).toBe(true);
    expect(await renewLock(doc, table, { owner: 'run-a', execution: first, leaseSeconds: 60, now: at(40) })).toEqual({
      leaseExpiresAt: t0.getTime() / 1000 + 100,
    });
    expect(await releaseLock(doc, table, 'run-a', 'batch', first)).toEqual({ released: true });
  });

  it('release by the owner frees the lock; a second release is a no-op', async () => {
    await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 600, now: t0 });
    expect(await releaseLock(doc, table, 'run-a')).toEqual({ released: true });
    expect(await getLock(doc, table)).toBeUndefined();
    expect(await releaseLock(doc, table, 'run-a')).toEqual({ released: false });
    expect((await acquireLock(doc, table, { owner: 'run-b', leaseSeconds: 600, now: t0 })).acquired).toBe(true);
  });

  it('acquireLockOrThrow raises ConflictError naming the holder and lease end', async () => {
    await acquireLock(doc, table, { owner: 'run-a', leaseSeconds: 600, now: t0 });
    await expect(acquireLockOrThrow(doc, table, { owner: 'run-b', leaseSeconds: 600, now: t0 })).rejects.toThrow(
      'Lock batch is held by run-a until 2026-03-01T10:10:00.000Z',
    );
  });

  it('rejects an invalid lease', async () => {
    await expect(acquireLock(doc, table, { owner: 'x', leaseSeconds: 0 })).rejects.toThrow(
      'lock: leaseSeconds must be a positive integer, got 0',
    );
  });
});
