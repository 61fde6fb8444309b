/**
 * Control over the Redis clients the in-process handlers create (`npm run local` only).
 *
 * The handlers build their clients with `new Redis(...)` from `ioredis` (through `redisFromEnv`). Compiled TypeScript
 * reads `ioredis`'s `default` export when it constructs, so replacing that export here reaches every handler, loaded
 * before or after, without touching their code:
 * - `track`: real clients are remembered (through `Redis.prototype.connect`) so {@link closeRedisClients} can disconnect
 *   them all at the end (otherwise they keep reconnecting to a stopped server and keep the process alive);
 * - `standin`: an in-process stand-in for a missing redis-server, built on ioredis-mock. ioredis-mock runs the score
 *   store's Lua upsert (EVAL, via fengari) but lacks the generic `call()` the store uses and `SCRIPT LOAD`/`EVALSHA`;
 *   the stand-in adds those. Clients with the same URL share one data set (ioredis-mock keys data by host:port/db).
 */
import { createHash } from 'node:crypto';

type AnyFn = (...args: unknown[]) => Promise<unknown>;
type Ctor = new (...args: unknown[]) => { disconnect(): void; quit?: () => Promise<unknown> };

/** URL the stand-in answers to (never dialled). */
export const STANDIN_REDIS_URL = 'redis://standin.local:6379';

const live = new Set<{ disconnect(): void }>();
let patched: 'track' | 'standin' | undefined;

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
      if (cmd === 'EVALSHA') {
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

/**
 * Replace `ioredis`'s default export for this process. Idempotent per mode.
 * @returns the REDIS_URL to use with `standin`, undefined with `track`
 */
export function patchIoredis(mode: 'track' | 'standin'): string | undefined {
  // `ioredis`'s `default`/`Redis` exports are getters reading `ioredis/built/Redis`'s `default`.
  const inner = require('ioredis/built/Redis') as Record<string, unknown>;
  if (patched === undefined) {
    // Every real client connects through Redis.prototype.connect (at construction, or later when lazy): track there,
    // which also catches clients built from the module object directly.
    const proto = (inner.default as { prototype: { connect: (...a: unknown[]) => Promise<void> } }).prototype;
    const connect = proto.connect;
    proto.connect = function (this: { disconnect(): void }, ...args: unknown[]) {
      live.add(this);
      return connect.apply(this, args);
    };
  }
  if (mode === 'standin' && patched !== 'standin') {
    const StandIn = standInClass();
    class Tracked extends StandIn {
      constructor(...args: unknown[]) {
        super(...args);
        live.add(this);
      }
    }
    inner.default = Tracked;
    // A module that imports ioredis later may read module.exports itself as the default (Node-mode interop), so
    // the package's entry must be the stand-in too. Modules loaded earlier (local/servers.ts) keep the real client.
    const entry = require.cache[require.resolve('ioredis')];
    if (entry) {
      const real = entry.exports as Record<string, unknown>;
      entry.exports = Object.assign(Tracked, {
        default: Tracked,
        Redis: Tracked,
        Cluster: real.Cluster,
        Command: real.Command,
        ReplyError: real.ReplyError,
        __esModule: true,
      });
    }
  }
  patched = patched === 'standin' ? 'standin' : mode;
  return mode === 'standin' ? STANDIN_REDIS_URL : undefined;
}

/** Disconnect every client created since {@link patchIoredis}. */
export function closeRedisClients(): number {
  const n = live.size;
  for (const c of live) {
    try {
      c.disconnect();
    } catch {
      // already closed
    }
  }
  live.clear();
  return n;
}
