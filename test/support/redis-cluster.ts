/**
 * A local Redis Cluster of `shards` redis-server processes (cluster mode enabled, no replicas) on free loopback
 * ports, each in its own temporary directory: slots split into equal contiguous ranges (as ElastiCache assigns
 * them), nodes joined with CLUSTER MEET, ready when every node reports `cluster_state:ok`. `stop()` stops exactly
 * the processes it started, by pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { type Spawned, spawnServer, waitUntil } from '../../local/services/processes';
import { findBinary, freePort, INSTALL_HINTS, MissingBinaryError } from '../../local/services/servers';

export interface ClusterNode {
  readonly port: number;
  readonly id: string;
  /** First and last slot this node was given. */
  readonly slots: readonly [number, number];
  readonly pid: number | undefined;
}

export interface LocalCluster {
  readonly nodes: readonly ClusterNode[];
  /** `redis://127.0.0.1:<port>` of the first node (a seed for a cluster client). */
  readonly url: string;
  /** A direct (non-cluster) connection to one node, closed by `stop()`. */
  admin(port: number): Redis;
  stop(): Promise<void>;
}

const SLOTS = 16_384;

export async function startRedisCluster(shards = 3): Promise<LocalCluster> {
  const path = findBinary('redis-server');
  if (!path) throw new MissingBinaryError('redis-server', INSTALL_HINTS.redis);
  const procs: Spawned[] = [];
  const dirs: string[] = [];
  const admins = new Map<number, Redis>();
  const admin = (port: number) => {
    let c = admins.get(port);
    if (c === undefined) {
      c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false });
      c.on('error', () => undefined);
      admins.set(port, c);
    }
    return c;
  };
  const stop = async () => {
    for (const c of admins.values()) c.disconnect();
    await Promise.all(procs.map((p) => p.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    for (let i = 0; i < shards; i++) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'mlops-redis-cluster-'));
      dirs.push(dir);
      // Args as startRedis (local/services/servers.ts), plus cluster mode with its node file in the node's directory.
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--loglevel', 'warning');
      const proc = spawnServer(path, args, undefined);
      procs.push(proc);
      ports.push(port);
      await waitUntil(
        `redis-server (cluster node ${port})`,
        async () => (await admin(port).ping()) === 'PONG',
        30_000,
        proc,
      );
    }
    const nodes: ClusterNode[] = [];
    for (let i = 0; i < shards; i++) {
      const port = ports[i]!;
      const first = Math.floor((i * SLOTS) / shards);
      const last = Math.floor(((i + 1) * SLOTS) / shards) - 1;
      await admin(port).call('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
      const id = String(await admin(port).call('CLUSTER', 'MYID'));
      nodes.push({ port, id, slots: [first, last], pid: procs[i]!.pid });
    }
    for (const port of ports.slice(1)) await admin(port).call('CLUSTER', 'MEET', '127.0.0.1', String(ports[0]));
    await waitUntil(
      'redis cluster',
      async () => {
        for (const port of ports) {
          const info = String(await admin(port).call('CLUSTER', 'INFO'));
          if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${shards}`)) return false;
        }
        return true;
      },
      30_000,
    );
    return { nodes, url: `redis://127.0.0.1:${ports[0]}`, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
