/**
 * Jest harness for integration tests against real local servers (moto_server, redis-server).
 *
 * ```ts
 * describeWithServers('ledger against moto', { moto: true }, (env) => {
 *   let ddb: DynamoDBDocumentClient;
 *   beforeAll(async () => { ddb = testClients(env.moto.endpoint).doc; });
 *   it('…', async () => { … });
 * });
 * ```
 *
 * - Servers start in `beforeAll` (one set per `describeWithServers` block) and stop by pid in an `afterAll` that runs
 *   after the block's own `afterAll` hooks (so they can still close their clients against live servers).
 * - `AWS_ENDPOINT_URL` / `REDIS_URL` set when the file is loaded select external servers; nothing is started then.
 * - For the block, `process.env.AWS_ENDPOINT_URL`, `AWS_REGION`, test credentials and `REDIS_URL` point at the
 *   servers; the previous values are restored afterwards. Clients created at module scope (e.g. in a handler module
 *   imported at the top of the test file) were built before that: create clients inside `beforeAll`/tests, or import
 *   the handler module there.
 * - `{ xgboost: true }`: the block also needs XGBoost 1.7 for Python (the local trainer/transformer stand-ins).
 * - A missing binary: outside CI the block is skipped with one line on stderr; with `CI=true` its tests fail.
 */

import { closeRedisClients, useLocalRedis } from '../../local/runtime/redis-clients';
import {
  findBinary,
  INSTALL_HINTS,
  type MotoServer,
  type RedisServer,
  startMoto,
  startRedis,
} from '../../local/services/servers';
import { findXgboost, XGBOOST_INSTALL_HINT } from '../../local/standins/xgboost';

export interface ServerEnv {
  /** moto_server; `endpoint` is valid inside tests and `beforeAll` hooks (throws when moto was not requested). */
  readonly moto: { readonly endpoint: string };
  /** redis-server; `url` is valid inside tests and `beforeAll` hooks (throws when redis was not requested). */
  readonly redis: { readonly url: string };
}

export interface ServerRequest {
  readonly moto?: boolean;
  readonly redis?: boolean;
  /** XGBoost 1.7 for Python (python3-xgboost), which the local Train/Transform stand-ins run. */
  readonly xgboost?: boolean;
}

const isCi = () => {
  const v = (process.env.CI ?? '').toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
};

const reported = new Set<string>();

export function describeWithServers(name: string, request: ServerRequest, fn: (env: ServerEnv) => void): void {
  // Decide at collection time which services are external, so a block never mistakes another block's server
  // (exported into process.env by its beforeAll) for an external one.
  const externalMoto = process.env.AWS_ENDPOINT_URL || undefined;
  const externalRedis = process.env.REDIS_URL || undefined;

  const missing: string[] = [];
  if (request.moto && !externalMoto && !findBinary('moto_server')) missing.push(`moto_server (${INSTALL_HINTS.moto})`);
  if (request.redis && !externalRedis && !findBinary('redis-server')) {
    missing.push(`redis-server (${INSTALL_HINTS.redis})`);
  }
  if (request.xgboost && !findXgboost().runtime) missing.push(`XGBoost 1.7 for Python (${XGBOOST_INSTALL_HINT})`);

  let moto: MotoServer | undefined;
  let redis: RedisServer | undefined;
  const env: ServerEnv = {
    moto: {
      get endpoint(): string {
        if (!moto)
          throw new Error(`moto is not running in "${name}": request { moto: true } and read env inside tests`);
        return moto.endpoint;
      },
    },
    redis: {
      get url(): string {
        if (!redis)
          throw new Error(`redis is not running in "${name}": request { redis: true } and read env inside tests`);
        return redis.url;
      },
    },
  };

  if (missing.length > 0 && !isCi()) {
    const line = `[servers] skipping "${name}": missing ${missing.join('; ')}\n`;
    if (!reported.has(line)) {
      reported.add(line);
      process.stderr.write(line);
    }
    describe.skip(name, () => fn(env));
    return;
  }

  describe(name, () => {
    const saved = new Map<string, string | undefined>();
    const setEnv = (key: string, value: string) => {
      if (!saved.has(key)) saved.set(key, process.env[key]);
      process.env[key] = value;
    };

    beforeAll(async () => {
      // The handlers a block runs in-process cache their Redis clients; tracked, afterAll can close them (a cached
      // client of a stopped server keeps a reconnect timer armed, and the jest worker cannot exit).
      useLocalRedis('track');
      if (missing.length > 0) {
        throw new Error(`CI=true and required servers are missing: ${missing.join('; ')}`);
      }
      const [m, r] = await Promise.allSettled([
        request.moto ? startMoto({ external: externalMoto, useEnv: false }) : undefined,
        request.redis ? startRedis({ external: externalRedis, useEnv: false }) : undefined,
      ]);
      // Keep whatever started so afterAll stops it even when the other one failed.
      moto = m.status === 'fulfilled' ? m.value : undefined;
      redis = r.status === 'fulfilled' ? r.value : undefined;
      if (m.status === 'rejected') throw m.reason;
      if (r.status === 'rejected') throw r.reason;
      if (moto) {
        setEnv('AWS_ENDPOINT_URL', moto.endpoint);
        setEnv('AWS_REGION', process.env.AWS_REGION || 'us-east-1');
        setEnv('AWS_DEFAULT_REGION', process.env.AWS_REGION || 'us-east-1');
        if (!moto.external) {
          // moto accepts any credentials; never let a real profile leak into a test.
          setEnv('AWS_ACCESS_KEY_ID', 'testing');
          setEnv('AWS_SECRET_ACCESS_KEY', 'testing');
          setEnv('AWS_SESSION_TOKEN', 'testing');
        }
      }
      if (redis) setEnv('REDIS_URL', redis.url);
    }, 60_000);

    fn(env);

    // Registered after the block's own hooks, so it runs after them (jest runs afterAll hooks in the order they were
    // declared): the block closes its clients while the servers still answer. Stopped first, an ioredis client's
    // quit()/disconnect() finds a dead socket and leaves a 2 s destroy timer (and reconnect timers) behind, which keeps
    // the jest worker from exiting ("A worker process has failed to exit gracefully").
    afterAll(async () => {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      saved.clear();
      closeRedisClients();
      await Promise.all([moto?.stop(), redis?.stop()]);
      moto = undefined;
      redis = undefined;
    }, 30_000);
  });
}
