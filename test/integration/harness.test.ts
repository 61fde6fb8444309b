import { GetObjectCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { findBinary, MissingBinaryError, startMoto, startRedis } from '../../local/services/servers';
import { createBucket, createPipelineTable, testClients } from '../support/aws';
import { describeWithServers } from '../support/servers';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describeWithServers('harness: moto_server', { moto: true }, (env) => {
  it('exports the endpoint to the environment, bound to loopback', () => {
    expect(env.moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.AWS_ENDPOINT_URL).toBe(env.moto.endpoint);
  });

  it('stores and reads an S3 object', async () => {
    const { s3 } = testClients(env.moto.endpoint);
    const bucket = await createBucket(s3);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'inference/dt=2026-01-01/a.csv', Body: 'id\n1\n' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'inference/dt=2026-01-01/a.csv' }));
    expect(await got.Body?.transformToString()).toBe('id\n1\n');
  });

  it('creates the Pipeline table and uses the sparse gsi1', async () => {
    const { ddb, doc } = testClients(env.moto.endpoint);
    const table = await createPipelineTable(ddb);
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'A', sk: 'A', gsi1pk: 'G', gsi1sk: '1', v: 1 } }));
    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'B', sk: 'B', v: 2 } }));
    const got = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'B', sk: 'B' } }));
    expect(got.Item).toEqual({ pk: 'B', sk: 'B', v: 2 });
    const q = await doc.send(
      new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :g',
        ExpressionAttributeValues: { ':g': 'G' },
      }),
    );
    expect(q.Items?.map((i) => i.pk)).toEqual(['A']);
  });
});

describeWithServers('harness: redis-server', { redis: true }, (env) => {
  it('SET/GET with TTL', async () => {
    expect(env.redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(process.env.REDIS_URL).toBe(env.redis.url);
    const redis = new Redis(env.redis.url);
    try {
      await redis.set('score:c-1', '0.42', 'EX', 60);
      expect(await redis.get('score:c-1')).toBe('0.42');
      const ttl = await redis.ttl('score:c-1');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    } finally {
      redis.disconnect();
    }
  });
});

// Lower-level API used by the local runtime: start, answer, stop by pid (no process left behind).
describe('local/servers lifecycle', () => {
  const haveBinaries = process.env.CI === 'true' || Boolean(findBinary('moto_server') && findBinary('redis-server'));
  (haveBinaries ? it : it.skip)('stops both servers by pid, idempotently', async () => {
    const [moto, redis] = await Promise.all([startMoto({ useEnv: false }), startRedis({ useEnv: false })]);
    expect(moto.external).toBe(false);
    expect(redis.external).toBe(false);
    const motoPid = moto.pid!;
    const redisPid = redis.pid!;
    expect(alive(motoPid)).toBe(true);
    expect(alive(redisPid)).toBe(true);
    const { s3 } = testClients(moto.endpoint);
    await expect(s3.send(new ListBucketsCommand({}))).resolves.toBeDefined();
    // REDIS_URL / AWS_ENDPOINT_URL given: reuse, start nothing, and never stop the other owner's server.
    const reused = await startRedis({ external: redis.url });
    expect(reused).toMatchObject({ url: redis.url, external: true, pid: undefined });
    await reused.stop();
    expect(alive(redisPid)).toBe(true);

    await Promise.all([moto.stop(), redis.stop()]);
    await Promise.all([moto.stop(), redis.stop()]);
    expect(alive(motoPid)).toBe(false);
    expect(alive(redisPid)).toBe(false);
  });

  it('uses an external endpoint without starting anything', async () => {
    // An HTTP server standing in for an external emulator.
    const http = await import('node:http');
    const srv = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const addr = srv.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      const moto = await startMoto({ external: `http://127.0.0.1:${port}/` });
      expect(moto).toMatchObject({ endpoint: `http://127.0.0.1:${port}`, external: true, pid: undefined });
      await moto.stop();
    } finally {
      srv.closeAllConnections(); // the readiness probe's keep-alive socket would hold the server open
      await new Promise((r) => srv.close(r));
    }
  });

  it('names the missing binary and how to install it', async () => {
    const err = await startRedis({ useEnv: false, binary: 'no-such-redis-server-binary' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingBinaryError);
    expect((err as Error).message).toMatch(/no-such-redis-server-binary not found on PATH\. Install it with: apt-get/);
  });

  it('fails clearly when an external endpoint is unreachable', async () => {
    await expect(startMoto({ external: 'http://127.0.0.1:1', startTimeoutMs: 300 })).rejects.toThrow(
      /AWS endpoint http:\/\/127\.0\.0\.1:1 not ready after 300 ms/,
    );
  });
});
