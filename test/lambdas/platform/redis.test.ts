import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { DependencyError } from '../../../contracts/errors';
import {
  ensureConnected,
  isAuthError,
  type RedisClient,
  RedisHolder,
  ROLE_OPTIONS,
  redisFromEnv,
  resetAuthTokenCache,
} from '../../../lambdas/platform/redis';
import { freePort } from '../../../local/services/servers';
import { describeWithServers } from '../../support/servers';

const sm = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cache-auth-AbCdEf';
const clients: Redis[] = [];
const track = (client: RedisClient) => {
  const r = client as Redis;
  clients.push(r);
  return r;
};

beforeEach(() => {
  sm.reset();
  resetAuthTokenCache();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  // ioredis destroys a socket that never closed after `disconnectTimeout`; let that timer run out.
  await new Promise((r) => setTimeout(r, 600));
});

const cacheEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  CACHE_HOST: 'master.cache.example.internal',
  CACHE_PORT: '6380',
  CACHE_TLS: 'true',
  CACHE_AUTH_SECRET_ARN: ARN,
  ...extra,
});

describe('redisFromEnv', () => {
  it('uses REDIS_URL when set and never reads the secret', async () => {
    const r = track(
      await redisFromEnv({
        env: { ...cacheEnv(), REDIS_URL: 'redis://127.0.0.1:6555/2' },
        secretsManager: new SecretsManagerClient({}),
      }),
    );
    expect(r.options.host).toBe('127.0.0.1');
    expect(r.options.port).toBe(6555);
    expect(r.options.db).toBe(2);
    expect(r.options.password ?? undefined).toBeUndefined();
    expect(r.options.tls).toBeUndefined();
    expect(r.status).toBe('wait'); // lazy: nothing connects until ensureConnected
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('reader fails fast: no offline queue, no per-request retries, bounded reconnects', async () => {
    const r = track(await redisFromEnv({ env: { REDIS_URL: 'redis://127.0.0.1:6555' } }));
    expect(r.options.enableOfflineQueue).toBe(false);
    expect(r.options.maxRetriesPerRequest).toBe(0);
    expect(r.options.commandTimeout).toBe(ROLE_OPTIONS.reader.commandTimeout);
    const retry = r.options.retryStrategy!;
    expect(retry(1)).toBe(100);
    expect(retry(4)).toBeNull();
  });

  it('loader keeps a short offline queue and bounded retries', async () => {
    const r = track(await redisFromEnv({ role: 'loader', env: { REDIS_URL: 'redis://127.0.0.1:6555' } }));
    expect(r.options.enableOfflineQueue).toBe(true);
    expect(r.options.maxRetriesPerRequest).toBe(1);
    expect(r.options.retryStrategy!(6)).toBeNull();
  });

  it('connects with TLS and the AUTH token from Secrets Manager, fetched once per container', async () => {
    sm.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: 's3cr3t-token' });
    const client = new SecretsManagerClient({});
    const a = track(await redisFromEnv({ env: cacheEnv(), secretsManager: client }));
    const b = track(await redisFromEnv({ env: cacheEnv(), secretsManager: client }));
    expect(a.options.host).toBe('master.cache.example.internal');
    expect(a.options.port).toBe(6380);
    expect(a.options.password).toBe('s3cr3t-token');
    expect(a.options.tls).toEqual({ servername: 'master.cache.example.internal' });
    expect(b.options.password).toBe('s3cr3t-token');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    ['authToken', { authToken: 'tok-1' }],
    ['password', { password: 'tok-1' }],
    ['token', { token: 'tok-1' }],
  ])('reads a JSON secret with %s', async (_f, secret) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(secret) });
    const r = track(await redisFromEnv({ env: cacheEnv(), secretsManager: new SecretsManagerClient({}) }));
    expect(r.options.password).toBe('tok-1');
  });

  it('a JSON secret without a token field fails without echoing the secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ user: 'do-not-leak' }) });
    const p = redisFromEnv({ env: cacheEnv(), secretsManager: new SecretsManagerClient({}) });
    await expect(p).rejects.toThrow(DependencyError);
    await expect(p).rejects.toThrow(/no non-empty "authToken", "password" or "token" field/);
    await expect(p).rejects.not.toThrow(/do-not-leak/);
  });

  it('a failed secret fetch is a DependencyError and is not cached', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new Error('AccessDeniedException: not allowed'))
      .resolves({ SecretString: 'tok' });
    const client = new SecretsManagerClient({});
    await expect(redisFromEnv({ env: cacheEnv(), secretsManager: client })).rejects.toThrow(
      /Cannot read the cache AUTH secret .*cache-auth.*AccessDenied/,
    );
    const r = track(await redisFromEnv({ env: cacheEnv(), secretsManager: client }));
    expect(r.options.password).toBe('tok');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('CACHE_TLS=false connects in plain text; no secret ARN means no AUTH', async () => {
    const r = track(await redisFromEnv({ env: cacheEnv({ CACHE_TLS: 'false', CACHE_AUTH_SECRET_ARN: '' }) }));
    expect(r.options.tls).toBeUndefined();
    expect(r.options.password ?? undefined).toBeUndefined();
  });

  it.each([
    [{ CACHE_PORT: 'abc' }, /CACHE_PORT = "abc" is not a port number/],
    [{ CACHE_PORT: '70000' }, /CACHE_PORT = "70000"/],
    [{ CACHE_TLS: 'yes' }, /CACHE_TLS = "yes" is not allowed: expected "true" or "false"/],
    [{ CACHE_HOST: '' }, /CACHE_HOST is not set/],
  ])('rejects bad settings %p', async (extra, message) => {
    await expect(redisFromEnv({ env: cacheEnv(extra), secretsManager: new SecretsManagerClient({}) })).rejects.toThrow(
      message,
    );
  });
});

describe('ensureConnected', () => {
  it('fails fast with a DependencyError when nothing listens', async () => {
    const port = await freePort();
    const r = track(await redisFromEnv({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } }));
    const started = Date.now();
    await expect(ensureConnected(r, 2_000)).rejects.toThrow(DependencyError);
    await expect(ensureConnected(r, 2_000)).rejects.toThrow(/Cache unavailable: could not connect to the cache/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describeWithServers('RedisHolder against a redis-server that requires AUTH', { redis: true }, (env) => {
  it('a refused (rotated) token drops the client and re-reads the secret on the next call', async () => {
    const admin = new Redis(env.redis.url);
    await admin.config('SET', 'requirepass', 'good-token');
    sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old-token' }).resolves({ SecretString: 'good-token' });
    const url = new URL(env.redis.url);
    const holder = new RedisHolder({
      role: 'reader',
      env: { CACHE_HOST: url.hostname, CACHE_PORT: url.port, CACHE_TLS: 'false', CACHE_AUTH_SECRET_ARN: ARN },
      secretsManager: new SecretsManagerClient({}),
    });
    try {
      const refused = holder.get();
      await expect(refused).rejects.toThrow(DependencyError);
      await expect(refused).rejects.toThrow(
        /Cache unavailable: AUTH refused \(WRONGPASS .*\); the secret is read again/,
      );
      await expect(refused).rejects.not.toThrow(/old-token/);
      const client = await holder.get();
      expect(await client.ping()).toBe('PONG');
      expect(await holder.get()).toBe(client); // kept while it works
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    } finally {
      holder.close();
      // the harness stops the server with an unauthenticated client: lift the password before the test ends
      await admin.config('SET', 'requirepass', '');
      await admin.quit();
    }
  });
});

it('recognises auth errors', () => {
  expect(isAuthError(new Error('WRONGPASS invalid username-password pair or user is disabled.'))).toBe(true);
  expect(isAuthError(new Error('NOAUTH Authentication required.'))).toBe(true);
  expect(isAuthError(new Error('connect ECONNREFUSED'))).toBe(false);
  expect(isAuthError(undefined)).toBe(false);
});
