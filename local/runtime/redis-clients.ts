/**
 * The Redis clients of the handlers the local runtime runs in-process.
 *
 * The handlers get their clients from `redisFromEnv` (lambdas/platform/redis.ts); {@link useLocalRedis} installs its
 * connector hook for this process:
 * - `track`: real clients, remembered so {@link closeRedisClients} can disconnect them all when a run ends (otherwise
 *   they keep reconnecting to a stopped server and keep the process alive);
 * - `standin`: an in-process stand-in for a missing redis-server, built on ioredis-mock. ioredis-mock runs the score
 *   store's Lua upsert (EVAL, via fengari) but lacks the generic `call()` the store uses and `SCRIPT LOAD`/`EVALSHA`/`EVALSHA_RO`/`EVAL_RO`;
 *   the stand-in adds those. Clients with the same URL share one data set (ioredis-mock keys data by host:port/db).
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { defaultRedisConnector, type RedisConnector, setRedisConnector } from '../../lambdas/platform/redis';

type AnyFn = (...args: unknown[]) => Promise<unknown>;
type Ctor = new (...args: unknown[]) => { disconnect(): void; quit?: () => Promise<unknown> };

/** URL the stand-in answers to (never dialled). */
export const STANDIN_REDIS_URL = 'redis://standin.local:6379';

/**
 * Every client built through the hook. Kept after {@link closeRedisClients}: a handler's cached client that was
 * disconnected reconnects on its next use, and the next close must reach it again.
 */
const live = new Set<{ disconnect(): void }>();
let mode: 'track' | 'standin' | undefined;

/** The stand-in class (exported for tests): ioredis-mock plus `call`, `SCRIPT LOAD` and `EVALSHA`. */
export function standInClass(): Ctor {
  const RedisMock = require('ioredis-mock') as Ctor;
  const scripts = new Map<string, string>();
  class StandInRedis extends RedisMock {
    /** ioredis' connection status (ioredis-mock has none; `ensureConnected` reads it). */
    status: string;

    constructor(...args: unknown[]) {
      super(...args);
      const opts = args.find((a): a is { lazyConnect?: boolean } => a !== null && typeof a === 'object');
      this.status = opts?.lazyConnect ? 'wait' : 'ready';
      // ioredis-mock defines its commands as own properties, so wrap the instance's connect/disconnect.
      const self = this as unknown as Record<string, AnyFn>;
      const connect = self.connect!.bind(this);
      const disconnect = self.disconnect!.bind(this);
      self.connect = async () => {
        this.status = 'connecting';
        await connect();
        this.status = 'ready';
      };
      self.disconnect = async () => {
        this.status = 'end';
        return disconnect();
      };
    }

    async call(command: string, ...rest: unknown[]): Promise<unknown> {
      const args = (rest.length === 1 && Array.isArray(rest[0]) ? (rest[0] as unknown[]) : rest).map(String);
      const cmd = command.toUpperCase();
      const self = this as unknown as Record<string, AnyFn | undefined>;
      if (cmd === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD' && args[1] !== undefined) {
        const sha = createHash('sha1').update(args[1]).digest('hex');
        scripts.set(sha, args[1]);
        return sha;
      }
      if (cmd === 'EVAL_RO') return self.eval!.call(this, ...args);
      if (cmd === 'EVALSHA' || cmd === 'EVALSHA_RO') {
        const script = scripts.get(args[0] ?? '');
        if (script === undefined) throw new Error('NOSCRIPT No matching script. Please use EVAL.');
        return self.eval!.call(this, script, ...args.slice(1));
      }
      const fn = self[command.toLowerCase()];
      if (typeof fn !== 'function') {
        throw new Error(`ERR unknown command '${command}' (not supported by the in-process stand-in)`);
      }
      return fn.apply(this, args);
    }
  }
  return StandInRedis;
}

/** The connector of a mode: real clients or stand-ins, each remembered for {@link closeRedisClients}. */
export function trackingConnector(kind: 'track' | 'standin'): RedisConnector {
  const build: RedisConnector =
    kind === 'track'
      ? defaultRedisConnector
      : (() => {
          const StandIn = standInClass();
          return (options, url) => new StandIn(url ?? STANDIN_REDIS_URL, options) as unknown as Redis;
        })();
  return (options, url) => {
    const client = build(options, url);
    live.add(client);
    return client;
  };
}

/**
 * Route the handlers' Redis clients through the local runtime for this process. Idempotent per mode; once the
 * stand-in is in place it stays (its data lives in this process).
 * @returns the REDIS_URL to use with `standin`, undefined with `track`
 */
export function useLocalRedis(next: 'track' | 'standin'): string | undefined {
  if (mode !== 'standin' && mode !== next) {
    setRedisConnector(trackingConnector(next));
    mode = next;
  }
  return next === 'standin' ? STANDIN_REDIS_URL : undefined;
}

/** Disconnect every client built since {@link useLocalRedis}. @returns how many were disconnected */
export function closeRedisClients(): number {
  let n = 0;
  for (const c of live) {
    if ((c as { status?: string }).status === 'end') continue;
    try {
      c.disconnect();
      n++;
    } catch {
      // already closed
    }
  }
  return n;
}
