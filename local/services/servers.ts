/**
 * Local service processes: `moto_server` (AWS APIs) and `redis-server` (score store).
 *
 * Used by the jest harness (`test/support/servers.ts`) and by the local runtime (`npm run local`).
 *
 * - Servers bind to 127.0.0.1 only, on a free port chosen without races: moto is started with port 0 and the
 *   port is read from its "Running on" line; redis gets a free port and is identified by `INFO server`
 *   (`process_id` must be the child we started, so a port clash with another server can never go unnoticed).
 * - Each server runs in its own process group and is stopped by pid (SIGTERM to the group, SIGKILL after a grace
 *   period). A detached watchdog (`sh`) kills the group if this Node process dies without stopping it (jest worker
 *   crash, SIGKILL of the runner), and an `exit` hook kills it synchronously on a normal exit.
 * - When an endpoint is given (`AWS_ENDPOINT_URL` / `REDIS_URL`, or the `external` option), nothing is started:
 *   the external service is checked for reachability and `stop()` does nothing.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import Redis from 'ioredis';
import { spawnServer, waitUntil } from './processes';

/** A running (or external) moto_server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:43509`. */
  readonly endpoint: string;
  /** Process id of the server; undefined for an external server. */
  readonly pid: number | undefined;
  /** True when an already running server (AWS_ENDPOINT_URL) is used. */
  readonly external: boolean;
  /** Stop the server and wait for its process group to exit. Idempotent; no-op for an external server. */
  stop(): Promise<void>;
}

/** A running (or external) redis-server. */
export interface RedisServer {
  /** Connection URL, e.g. `redis://127.0.0.1:40123`. */
  readonly url: string;
  readonly pid: number | undefined;
  readonly external: boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  /**
   * Use this already running service instead of starting one.
   * @default - `AWS_ENDPOINT_URL` (moto) / `REDIS_URL` (redis) when set and `useEnv` is not false; otherwise start a server
   */
  readonly external?: string;
  /**
   * Whether `AWS_ENDPOINT_URL` / `REDIS_URL` from the environment select an external service.
   * @default true
   */
  readonly useEnv?: boolean;
  /**
   * Executable to run (name on PATH or path).
   * @default - `moto_server` / `redis-server`
   */
  readonly binary?: string;
  /**
   * How long to wait until the server answers.
   * @default 30000 ms
   */
  readonly startTimeoutMs?: number;
  /**
   * Append the server's stdout/stderr to this file.
   * @default - output is only kept in memory (last lines, shown when start fails)
   */
  readonly logFile?: string;
}

/** A required executable is not installed. `hint` says how to install it. */
export class MissingBinaryError extends Error {
  constructor(
    public readonly binary: string,
    public readonly hint: string,
  ) {
    super(`${binary} not found on PATH. ${hint}`);
    this.name = 'MissingBinaryError';
  }
}

export const INSTALL_HINTS: Readonly<Record<'moto' | 'redis', string>> = {
  moto: "Install it with: pip install 'moto[server]==5.2.1'",
  redis: 'Install it with: apt-get install -y redis-server (macOS: brew install redis)',
};

/** Absolute path of `name` on PATH (or `name` itself when it contains a slash and is executable); undefined if absent. */
export function findBinary(name: string): string | undefined {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return executable(name) ? name : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the caller must still detect a lost race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

async function httpStatus(url: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

// ---------------------------------------------------------------------------------------------------------------
// moto_server
// ---------------------------------------------------------------------------------------------------------------

/** Start moto_server on 127.0.0.1 (ephemeral port), or use an external endpoint. Ready when `/moto-api/` answers 200. */
export async function startMoto(options: StartOptions = {}): Promise<MotoServer> {
  const timeout = options.startTimeoutMs ?? 30_000;
  const external =
    options.external ?? (options.useEnv !== false ? process.env.AWS_ENDPOINT_URL || undefined : undefined);
  if (external) {
    const endpoint = external.replace(/\/+$/, '');
    // Any HTTP answer proves the service is up (an external emulator need not be moto).
    await waitUntil(`AWS endpoint ${endpoint}`, async () => (await httpStatus(`${endpoint}/`)) > 0, timeout);
    return { endpoint, pid: undefined, external: true, stop: async () => undefined };
  }

  const binary = options.binary ?? 'moto_server';
  const path = findBinary(binary);
  if (!path) throw new MissingBinaryError(binary, INSTALL_HINTS.moto);

  const proc = spawnServer(path, ['-H', '127.0.0.1', '-p', '0'], options.logFile);
  let port: number | undefined;
  let seen = '';
  proc.onOutput((text) => {
    if (port !== undefined) return;
    seen = (seen + text).slice(-4096);
    const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
    if (m?.[1]) port = Number(m[1]);
  });
  await waitUntil(
    'moto_server',
    async () => port !== undefined && (await httpStatus(`http://127.0.0.1:${port}/moto-api/`)) === 200,
    timeout,
    proc,
  );
  return { endpoint: `http://127.0.0.1:${port}`, pid: proc.pid, external: false, stop: proc.stop };
}

// ---------------------------------------------------------------------------------------------------------------
// redis-server
// ---------------------------------------------------------------------------------------------------------------

/** Connect once, run INFO server, disconnect. Returns the server's process_id. */
async function redisProcessId(url: string): Promise<number> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // reported through the rejected promise
  try {
    await client.connect();
    const info = await client.info('server');
    const m = /process_id:(\d+)/.exec(info);
    return m?.[1] ? Number(m[1]) : -1;
  } finally {
    client.disconnect();
  }
}

/**
 * Start redis-server on 127.0.0.1 (free port, no persistence, temporary working directory), or use an external URL.
 * Ready when `INFO server` answers with the pid of the started process (a different server on the port is a lost
 * race: the start is retried on a new port).
 */
export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const timeout = options.startTimeoutMs ?? 30_000;
  const external = options.external ?? (options.useEnv !== false ? process.env.REDIS_URL || undefined : undefined);
  if (external) {
    await waitUntil(`Redis at ${external}`, async () => (await redisProcessId(external)) !== 0, timeout);
    return { url: external, pid: undefined, external: true, stop: async () => undefined };
  }

  const binary = options.binary ?? 'redis-server';
  const path = findBinary(binary);
  if (!path) throw new MissingBinaryError(binary, INSTALL_HINTS.redis);

  let lastError: unknown;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'mlops-redis-'));
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--protected-mode',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const proc = spawnServer(path, args, options.logFile);
    const url = `redis://127.0.0.1:${port}`;
    const stop = async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitUntil(
        'redis-server',
        async () => {
          // Another server on this port (lost race): not ready; ours exits with "Address already in use".
          return (await redisProcessId(url)) === proc.pid;
        },
        timeout,
        proc,
      );
      return { url, pid: proc.pid, external: false, stop };
    } catch (err) {
      lastError = err;
      await stop();
      // Lost the port race (another process bound it first): try a new port. Anything else: give up.
      const msg = err instanceof Error ? err.message : String(err);
      if (!/Address already in use/i.test(msg)) break;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
