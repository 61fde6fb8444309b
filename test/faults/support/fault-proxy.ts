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
  /** HTTP requests forwarded since the proxy started. */
  readonly requests: number;
  setDown(down: boolean): void;
  /**
   * Let `n` more HTTP requests through, then go down at the start of the next one (its connection is reset before
   * anything reaches the emulator). `setDown(false)` ends it.
   */
  failAfter(n: number): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let down = false;
  let refused = 0;
  let requests = 0;
  let allowance = Number.POSITIVE_INFINITY;
  const goDown = () => {
    down = true;
    refused = 0;
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };
  // A chunk from the client that starts with a request line starts a new request (the SDK does not pipeline).
  const REQUEST_LINE = /^(GET|PUT|POST|DELETE|HEAD|PATCH|OPTIONS) \S+ HTTP\/1\.[01]\r\n/;
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
    client.on('data', (chunk: Buffer) => {
      if (REQUEST_LINE.test(chunk.subarray(0, 64).toString('latin1'))) {
        if (allowance <= 0) {
          goDown();
          refused += 1;
          return;
        }
        allowance -= 1;
        requests += 1;
      }
      if (!down) upstream.write(chunk);
    });
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
    get requests() {
      return requests;
    },
    setDown(d: boolean) {
      allowance = Number.POSITIVE_INFINITY;
      if (d) goDown();
      else down = false;
    },
    failAfter(n: number) {
      allowance = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
