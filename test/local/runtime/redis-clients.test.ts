import Redis from 'ioredis';
import { evalUpsert, getScore } from '../../../lambdas/domain/score-store/redis';
import {
  defaultRedisConnector,
  ensureConnected,
  redisFromEnv,
  setRedisConnector,
} from '../../../lambdas/platform/redis';
import {
  closeRedisClients,
  STANDIN_REDIS_URL,
  standInClass,
  useLocalRedis,
} from '../../../local/runtime/redis-clients';

// ioredis-mock runs the score store's real Lua upsert through the stand-in's call/SCRIPT LOAD/EVALSHA shim.
describe('in-process Redis stand-in', () => {
  const StandIn = standInClass();
  const make = (db: number) => new StandIn(`redis://standin.test:6379/${db}`, { lazyConnect: true }) as never;

  it('connects the way ensureConnected expects', async () => {
    const r = make(1) as { status: string };
    expect(r.status).toBe('wait');
    await ensureConnected(r as never);
    expect(r.status).toBe('ready');
  });

  it('runs the conditional upsert: newer (asOf, runId) wins, older is kept out', async () => {
    const r = make(2);
    await ensureConnected(r);
    const args = (asOf: string, run: string, ...scores: string[]) => ['0', asOf, run, '1', ...scores];
    expect(await evalUpsert(r, ['score:a', 'score:b'], args('2026-11-02', 'run-1', '0.5', '0.6'))).toEqual({
      applied: 2,
      keptNewer: 0,
    });
    expect(await evalUpsert(r, ['score:a'], args('2026-11-01', 'run-2', '0.9'))).toEqual({ applied: 0, keptNewer: 1 });
    expect(await evalUpsert(r, ['score:b'], args('2026-11-03', 'run-3', '0.7'))).toEqual({ applied: 1, keptNewer: 0 });
    expect(await getScore(r, 'a')).toMatchObject({ asOf: '2026-11-02', runId: 'run-1', score: 0.5 });
    expect(await getScore(r, 'b')).toMatchObject({ asOf: '2026-11-03', runId: 'run-3', score: 0.7 });
  });

  it('shares data between clients of the same URL, like one server', async () => {
    const a = make(3) as { set(k: string, v: string): Promise<unknown> };
    const b = make(3) as { get(k: string): Promise<string | null> };
    await a.set('k', 'v');
    expect(await b.get('k')).toBe('v');
  });

  it('answers EVALSHA of an unknown script with NOSCRIPT (the store then loads it)', async () => {
    const r = make(4) as { call(c: string, a: unknown[]): Promise<unknown> };
    await expect(r.call('EVALSHA', ['0'.repeat(40), 0])).rejects.toThrow(/^NOSCRIPT/);
    await expect(r.call('NOSUCHCOMMAND', [])).rejects.toThrow(/unknown command 'NOSUCHCOMMAND'/);
  });
});

// The handlers build their clients with redisFromEnv; the local runtime reaches them through its connector hook.
describe('connector hook of redisFromEnv', () => {
  afterAll(() => {
    closeRedisClients();
    setRedisConnector(undefined);
  });

  it('builds clients with new Redis by default, and with the connector in place otherwise', async () => {
    const built: unknown[] = [];
    const previous = setRedisConnector((options, url) => {
      built.push({ url, lazyConnect: options.lazyConnect, connectionName: options.connectionName });
      return defaultRedisConnector(options, url);
    });
    expect(previous).toBe(defaultRedisConnector);
    const r = await redisFromEnv({ role: 'loader', env: { REDIS_URL: 'redis://127.0.0.1:6555' } });
    expect(r).toBeInstanceOf(Redis);
    expect(built).toEqual([{ url: 'redis://127.0.0.1:6555', lazyConnect: true, connectionName: 'mlops-loader' }]);
    r.disconnect();
    setRedisConnector(undefined);
    const again = await redisFromEnv({ env: { REDIS_URL: 'redis://127.0.0.1:6555' } });
    expect(built).toHaveLength(1);
    again.disconnect();
  });

  it('track: real clients are remembered and closed together', async () => {
    expect(useLocalRedis('track')).toBeUndefined();
    const a = await redisFromEnv({ env: { REDIS_URL: 'redis://127.0.0.1:6555' } });
    const b = await redisFromEnv({ role: 'loader', env: { REDIS_URL: 'redis://127.0.0.1:6555' } });
    expect(a).toBeInstanceOf(Redis);
    expect(closeRedisClients()).toBe(2);
    expect([a.status, b.status]).toEqual(['end', 'end']);
    expect(closeRedisClients()).toBe(0);
  });

  it('standin: redisFromEnv hands out stand-ins sharing one data set, closed by closeRedisClients', async () => {
    const url = useLocalRedis('standin');
    expect(url).toBe(STANDIN_REDIS_URL);
    const writer = await redisFromEnv({ role: 'loader', env: { REDIS_URL: url } });
    const reader = await redisFromEnv({ env: { REDIS_URL: url } });
    expect(writer).not.toBeInstanceOf(Redis);
    await ensureConnected(writer);
    await ensureConnected(reader);
    await writer.set('hook:k', 'v');
    expect(await reader.get('hook:k')).toBe('v');
    expect(closeRedisClients()).toBe(2);
    expect(writer.status).toBe('end');
    // Once in place the stand-in stays: its data lives in this process.
    expect(useLocalRedis('track')).toBeUndefined();
    expect(await redisFromEnv({ env: { REDIS_URL: url } })).not.toBeInstanceOf(Redis);
  });
});
