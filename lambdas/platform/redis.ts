import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DependencyError } from '../../contracts/errors';
import { traced } from './tracer';

/**
 * Redis (ElastiCache / Valkey) client factory for the score store.
 *
 * - `REDIS_URL` set (local runtime, tests): connect to it and ignore host/port/secret.
 * - otherwise `CACHE_HOST`, `CACHE_PORT`, `CACHE_TLS` ("true"/"false") and the AUTH token read from the Secrets Manager
 *   secret `CACHE_AUTH_SECRET_ARN` (cached per container for 5 minutes, never logged). The secret is either the plain token or
 *   a JSON object with `authToken`, `password` or `token`.
 * - `CACHE_CLUSTER=true` (a sharded replication group, or a local cluster at `REDIS_URL`): an ioredis Cluster client
 *   seeded with that endpoint.
 *
 * Roles:
 * - `reader` (read API): no offline queue and no per-request retries, so an unreachable cache fails the request at once
 *   (the handler answers 503) instead of queueing it behind a reconnect.
 * - `loader` (LoadScores / FinalizeScores): a short offline queue and bounded retries, longer command timeout
 *   (server-side batches take milliseconds each, several are in flight). A cache that stays down still fails the step
 *   within seconds, never hangs it.
 */
export type RedisRole = 'reader' | 'loader';

/**
 * A connection to the cache: one node (cluster mode disabled) or a sharded cluster. Both speak the same commands;
 * in a cluster every multi-key command and script must keep to one slot (the score store's hash tags do).
 */
export type RedisClient = Redis | Cluster;

export interface RedisFromEnvOptions {
  /** @default 'reader' */
  readonly role?: RedisRole;
  /** Secrets Manager client (tests). @default a new client honouring AWS_ENDPOINT_URL */
  readonly secretsManager?: SecretsManagerClient;
  /** Environment to read (tests). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** Per-role connection settings. Exported so tests and benchmarks can see what production uses. */
export const ROLE_OPTIONS: Readonly<Record<RedisRole, RedisOptions>> = {
  reader: {
    connectTimeout: 2_000,
    // How long a closing socket may stay half-open before it is destroyed. ioredis keeps this timer even when the
    // socket had already closed, so a short one lets a process (the CLI, the local runtime, a test worker) exit promptly.
    disconnectTimeout: 100,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // Reconnect a few times quickly, then give up; the next invocation reconnects (see ensureConnected).
    retryStrategy: (times: number) => (times > 3 ? null : Math.min(times * 100, 500)),
  },
  loader: {
    connectTimeout: 3_000,
    disconnectTimeout: 100,
    commandTimeout: 15_000,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => (times > 5 ? null : Math.min(times * 200, 1_000)),
  },
};

/**
 * Builds the client `redisFromEnv` returns: from `url` when `REDIS_URL` is set, else from `options` alone (host, port,
 * TLS, AUTH token). Deployed functions always use {@link defaultRedisConnector}.
 */
export type RedisConnector = (options: RedisOptions, url?: string) => Redis;

/** `new Redis(...)`: what every deployed function uses. */
export const defaultRedisConnector: RedisConnector = (options, url) =>
  url === undefined ? new Redis(options) : new Redis(url, options);

let connector: RedisConnector = defaultRedisConnector;

/**
 * Replace how `redisFromEnv` (and so every `RedisHolder`) builds its clients, for this process; `undefined` restores
 * `new Redis`. Only the local runtime calls it, which runs the handlers in-process: to keep track of their clients
 * (and close them when a run ends) or to hand them an in-process stand-in when no redis-server is installed. The
 * role options, lazy connect and error watching stay as `redisFromEnv` sets them.
 *
 * @returns the connector that was in place
 */
export function setRedisConnector(next: RedisConnector | undefined): RedisConnector {
  const previous = connector;
  connector = next ?? defaultRedisConnector;
  return previous;
}

/**
 * How long a fetched AUTH token is reused. The Powertools parameters cache keeps one per container; past this age the
 * next connection fetches it again, so a rotated secret is picked up without a cold start.
 */
export const AUTH_TOKEN_MAX_AGE_SECONDS = 300;

/** One provider per Secrets Manager client (a function has one; tests pass their own). */
const providers = new Map<SecretsManagerClient, SecretsProvider>();

/** Forget the cached AUTH token (tests; or after an auth failure when the secret was rotated). */
export function resetAuthTokenCache(): void {
  for (const provider of providers.values()) provider.clearCache();
}

function parseToken(secretString: string): string {
  const trimmed = secretString.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new DependencyError('Cache AUTH secret looks like JSON but does not parse');
    }
    if (parsed !== null && typeof parsed === 'object') {
      const o = parsed as Record<string, unknown>;
      for (const field of ['authToken', 'password', 'token']) {
        const v = o[field];
        if (typeof v === 'string' && v.length > 0) return v;
      }
    }
    throw new DependencyError('Cache AUTH secret JSON has no non-empty "authToken", "password" or "token" field');
  }
  if (trimmed.length === 0) throw new DependencyError('Cache AUTH secret is empty');
  return trimmed;
}

async function fetchToken(sm: SecretsManagerClient, arn: string): Promise<string> {
  let provider = providers.get(sm);
  if (!provider) {
    provider = new SecretsProvider({ awsSdkV3Client: sm });
    providers.set(sm, provider);
  }
  let value: unknown;
  try {
    value = await provider.get(arn, { maxAge: AUTH_TOKEN_MAX_AGE_SECONDS });
  } catch (err) {
    // The provider's error names the secret and wraps the SDK's reason; neither contains the secret value.
    const cause =
      (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    throw new DependencyError(`Cannot read the cache AUTH secret ${arn}: ${cause}`, { cause: err });
  }
  if (typeof value !== 'string') throw new DependencyError(`Cache AUTH secret ${arn} has no SecretString`);
  return parseToken(value);
}

/** The AUTH token (Powertools parameters: cached per container for {@link AUTH_TOKEN_MAX_AGE_SECONDS}). */
export function authToken(sm: SecretsManagerClient, arn: string): Promise<string> {
  return fetchToken(sm, arn);
}

function secretsManagerClient(env: NodeJS.ProcessEnv): SecretsManagerClient {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  return traced(new SecretsManagerClient(endpoint ? { endpoint } : {}));
}

function requireVar(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (v === undefined || v === '')
    throw new Error(`Environment variable ${name} is not set (and REDIS_URL is not set)`);
  return v;
}

/**
 * Create an ioredis client from the environment (see the module comment) through the {@link RedisConnector} in place.
 * The client connects lazily: call {@link ensureConnected} before the first command (the reader must, because its
 * offline queue is off).
 */
export async function redisFromEnv(options: RedisFromEnvOptions = {}): Promise<RedisClient> {
  const env = options.env ?? process.env;
  const role = options.role ?? 'reader';
  const base: RedisOptions = { ...ROLE_OPTIONS[role], lazyConnect: true, connectionName: `mlops-${role}` };
  const clusterText = env.CACHE_CLUSTER || 'false';
  if (clusterText !== 'true' && clusterText !== 'false') {
    throw new Error(`Environment variable CACHE_CLUSTER = "${clusterText}" is not allowed: expected "true" or "false"`);
  }
  if (env.REDIS_URL) {
    if (clusterText === 'false') return watchErrors(connector(base, env.REDIS_URL));
    const url = new URL(env.REDIS_URL);
    return watchErrors(clusterClient(role, [{ host: url.hostname, port: Number(url.port || 6379) }], base));
  }

  const host = requireVar(env, 'CACHE_HOST');
  const portText = requireVar(env, 'CACHE_PORT');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`Environment variable CACHE_PORT = "${portText}" is not a port number (1..65535)`);
  }
  const tlsText = env.CACHE_TLS ?? 'true';
  if (tlsText !== 'true' && tlsText !== 'false') {
    throw new Error(`Environment variable CACHE_TLS = "${tlsText}" is not allowed: expected "true" or "false"`);
  }
  const arn = env.CACHE_AUTH_SECRET_ARN;
  const password = arn ? await authToken(options.secretsManager ?? secretsManagerClient(env), arn) : undefined;
  const auth = password === undefined ? {} : { password };
  if (clusterText === 'true') {
    // ElastiCache cluster mode: CACHE_HOST is the configuration endpoint; the nodes' TLS certificates name their
    // hostnames, so connect by name (dnsLookup) and let TLS use it.
    const tls = tlsText === 'true' ? { tls: {} } : {};
    return watchErrors(clusterClient(role, [{ host, port }], { ...base, ...auth, ...tls }, tlsText === 'true'));
  }
  return watchErrors(
    connector({
      ...base,
      host,
      port,
      ...auth,
      ...(tlsText === 'true' ? { tls: { servername: host } } : {}),
    }),
  );
}

/**
 * A cluster client: the reader sends read-only commands (GET, EVALSHA_RO) to replicas (`scaleReads: 'slave'`, so a
 * load on the primaries does not delay reads); the loader stays on the primaries. Same timeouts as one node.
 */
function clusterClient(
  role: RedisRole,
  seeds: { host: string; port: number }[],
  nodeOptions: RedisOptions,
  byName = false,
): Cluster {
  const { retryStrategy, enableOfflineQueue, ...redisOptions } = nodeOptions;
  const options: ClusterOptions = {
    lazyConnect: true,
    scaleReads: role === 'reader' ? 'slave' : 'master',
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    slotsRefreshTimeout: 2_000,
    redisOptions,
    ...(byName ? { dnsLookup: (address: string, cb: (e: null, a: string) => void) => cb(null, address) } : {}),
  };
  return new Cluster(seeds, options);
}

const lastErrors = new WeakMap<RedisClient, Error>();

/**
 * Connection errors surface as rejected commands; keep the last one (to recognise a refused AUTH) instead of letting
 * ioredis print "Unhandled error event" for each reconnect attempt. Error messages never contain the token.
 */
function watchErrors<C extends RedisClient>(client: C): C {
  client.on('error', (err: Error) => {
    lastErrors.set(client, err);
  });
  return client;
}

/** The server refused the credentials (wrong or rotated AUTH token). */
export function isAuthError(err: unknown): boolean {
  return err instanceof Error && /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(err.message);
}

/**
 * One client per container and role: created on first use, connected before each use, and — when the server refuses
 * the AUTH token (it was rotated) — dropped together with the cached token so the next call re-reads the secret.
 */
export class RedisHolder {
  private client: RedisClient | undefined;

  constructor(private readonly options: RedisFromEnvOptions = {}) {}

  /**
   * @throws DependencyError when the cache (or the secret) cannot be reached
   * @throws Error for a deployment bug (a missing or malformed CACHE_* variable)
   */
  async get(): Promise<RedisClient> {
    this.client ??= await redisFromEnv(this.options);
    const client = this.client;
    try {
      await ensureConnected(client);
      return client;
    } catch (err) {
      const last = lastErrors.get(client);
      if (isAuthError(last)) {
        client.disconnect();
        this.client = undefined;
        resetAuthTokenCache();
        throw new DependencyError(
          `Cache unavailable: AUTH refused (${last?.message.split('.')[0]}); the secret is read again on the next call`,
          { cause: last },
        );
      }
      throw err;
    }
  }

  /** Disconnect (tests, local runtime). */
  close(): void {
    this.client?.disconnect();
    this.client = undefined;
  }
}

/**
 * Make sure the client is connected before sending commands; (re)connects a client that is idle (`wait`) or gave up
 * reconnecting (`end`), waits for one that is (re)connecting.
 *
 * @throws DependencyError when the cache cannot be reached within `timeoutMs`
 */
export async function ensureConnected(redis: RedisClient, timeoutMs = 2_500): Promise<void> {
  if (redis.status === 'ready') return;
  try {
    if (redis.status === 'wait' || redis.status === 'end') {
      await withTimeout(redis.connect(), timeoutMs);
      return;
    }
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const onReady = () => {
          cleanup();
          resolve();
        };
        const onEnd = () => {
          cleanup();
          reject(new Error('connection closed'));
        };
        const cleanup = () => {
          redis.off('ready', onReady);
          redis.off('end', onEnd);
        };
        redis.once('ready', onReady);
        redis.once('end', onEnd);
      }),
      timeoutMs,
    );
  } catch (err) {
    throw toDependencyError(err, 'connect to the cache');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Wrap a client/transport error as a DependencyError (keeps an existing DependencyError as is). */
export function toDependencyError(err: unknown, what: string): DependencyError {
  if (err instanceof DependencyError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DependencyError(`Cache unavailable: could not ${what}: ${message}`, { cause: err });
}
