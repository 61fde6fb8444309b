/**
 * The server processes behind local/services/servers.ts: each runs in its own process group and is stopped by pid
 * (SIGTERM to the group, SIGKILL after a grace period). A detached watchdog (`sh`) kills the group if this Node
 * process dies without stopping it (jest worker crash, SIGKILL of the runner), and an `exit` hook kills it
 * synchronously on a normal exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Process groups started by this process and not yet stopped; killed synchronously on exit. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

const killLiveGroups = () => {
  for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
};

/** The exit hook is present only while servers run (jest loads this module once per test file: no listener pile-up). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killLiveGroups);
}

function forget(pgid: number): void {
  liveGroups.delete(pgid);
  if (liveGroups.size === 0 && exitHookInstalled) {
    process.removeListener('exit', killLiveGroups);
    exitHookInstalled = false;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Watches this Node process; when it dies, kills the server's process group. Exits by itself when the server is gone. */
function startWatchdog(serverPid: number): void {
  const script = [
    'p="$1"; c="$2"',
    'while kill -0 "$p" 2>/dev/null; do',
    '  kill -0 "$c" 2>/dev/null || exit 0',
    '  sleep 1',
    'done',
    'kill -TERM -"$c" 2>/dev/null; sleep 2; kill -KILL -"$c" 2>/dev/null; exit 0',
  ].join('\n');
  const w = spawn('sh', ['-c', script, 'mlops-watchdog', String(process.pid), String(serverPid)], {
    detached: true,
    stdio: 'ignore',
  });
  w.on('error', () => undefined);
  w.unref();
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last lines of the server's output. */
  output(): string;
  /** Resolves with a description once the process has exited. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
  /** Called with every chunk of output (for port discovery). */
  onOutput(listener: (text: string) => void): void;
  stop(): Promise<void>;
}

export function spawnServer(binary: string, args: string[], logFile: string | undefined): Spawned {
  installExitHook();
  const child = spawn(binary, args, {
    detached: true, // own process group: stop() kills the server and anything it forked
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`failed to start ${binary}`);
  }
  liveGroups.add(pid);
  startWatchdog(pid);

  let log: WriteStream | undefined;
  if (logFile) log = createWriteStream(logFile, { flags: 'a' });
  const tail: string[] = [];
  const listeners: ((text: string) => void)[] = [];
  const collect = (buf: Buffer) => {
    const text = buf.toString('utf8');
    log?.write(text);
    for (const line of text.split('\n')) if (line.trim()) tail.push(line);
    while (tail.length > 40) tail.shift();
    for (const l of listeners) l(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let exitedFlag = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      exitedFlag = true;
      forget(pid);
      resolve(`failed to run: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      forget(pid);
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
  }).then((why) => {
    log?.end();
    return why;
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (!exitedFlag) {
        killGroup(pid, 'SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      // Forked children (if any) share the group; make sure none survives the leader.
      killGroup(pid, 'SIGKILL');
      forget(pid);
    })();
    return stopping;
  };

  return {
    child,
    pid,
    output: () => tail.join('\n'),
    exited,
    hasExited: () => exitedFlag,
    onOutput: (l) => listeners.push(l),
    stop,
  };
}

/** Poll `check` until it returns true, the process exits, or the timeout passes. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  proc?: Spawned,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (proc?.hasExited()) {
      throw new Error(`${what} ${await proc.exited} before it was ready. Output:\n${proc.output()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      await proc?.stop();
      throw new Error(
        `${what} not ready after ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}` +
          (proc ? `. Output:\n${proc.output()}` : ''),
      );
    }
    await sleep(100);
  }
}
