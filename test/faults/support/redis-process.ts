/**
 * A redis-server the fault tests can KILL (SIGKILL by pid, no shutdown, no save) and start again on the same port
 * with the same data directory. Unlike `local/services/servers.ts` `startRedis` (no persistence, fresh port and directory each
 * start), this one runs with `appendonly yes` + `appendfsync always`: every write acknowledged before the kill is in
 * the append-only file and is loaded again on restart — the durability a managed cache gives through its replica.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { findBinary, freePort } from '../../../local/services/servers';

export interface KillableRedis {
  /** `redis://127.0.0.1:<port>` — the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Pid of the running server; undefined while it is down. */
  readonly pid: number | undefined;
  /** Kill the server with SIGKILL (no shutdown, no final save) and wait until it is gone. */
  kill(): Promise<void>;
  /** Start it again on the same port and directory; resolves when it answers and has loaded its AOF. */
  restart(): Promise<void>;
  /** Stop for good and delete the data directory. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hooked = false;
const killAll = () => {
  for (const c of live) if (c.pid) process.kill(c.pid, 'SIGKILL');
};

async function serverPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const loading = /loading:1/.test(await client.info('persistence'));
    const m = /process_id:(\d+)/.exec(info);
    return !loading && m?.[1] ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/** Start a persistent redis-server on a free port of 127.0.0.1. */
export async function startKillableRedis(): Promise<KillableRedis> {
  const binary = findBinary('redis-server');
  if (!binary) throw new Error('redis-server not found on PATH (apt-get install -y redis-server)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mlops-faults-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const c = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    child = c;
    live.add(c);
    if (!hooked) {
      hooked = true;
      process.on('exit', killAll);
    }
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    void exited.then(() => live.delete(c));
    const deadline = Date.now() + 20_000;
    for (;;) {
      // Ready only when the server on the port is the one just started (never mistake another process's server).
      if ((await serverPid(url)) === c.pid) return;
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`redis-server on port ${port} exited at start`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} not ready after 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  await start();
  return {
    url,
    port,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async kill() {
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    },
    restart: start,
    async stop() {
      if (child?.pid && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the killable redis-server can run here. Same rule as the harness (test/support/servers.ts): a missing
 * binary skips the block with one line outside CI; under CI=true the block runs and fails in its beforeAll.
 */
export function killableRedisAvailable(block: string): boolean {
  if (findBinary('redis-server')) return true;
  const ci = (process.env.CI ?? '').toLowerCase();
  if (ci !== '' && ci !== 'false' && ci !== '0') return true;
  process.stderr.write(`[servers] skipping "${block}": missing redis-server (apt-get install -y redis-server)\n`);
  return false;
}
