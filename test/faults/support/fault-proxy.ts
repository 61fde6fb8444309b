/**
 * A TCP proxy in front of moto_server that can be switched "down": open connections are reset and new ones are
 * reset on accept (what a client sees when DynamoDB's endpoint is unreachable mid-run). Handlers are pointed at the
 * proxy for the whole test file, so the outage can be confined to one state (e.g. CommitLedger) while every other
 * state reaches the emulator normally.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` — use as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  /** Connections refused (reset on accept) since the last `setDown(true)`. */
  readonly refused: number;
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  let refused = 0;
  const server: Server = createServer((client) => {
    if (down) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(t.port), t.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('proxy did not bind');
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    get refused() {
      return refused;
    },
    setDown(d: boolean) {
      down = d;
      if (d) {
        refused = 0;
        for (const s of sockets) s.resetAndDestroy();
        sockets.clear();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
