/**
 * Shared pieces of the benchmark runner: result tables, statistics, child processes with a hard time limit, and the
 * machine description printed with every run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { findBinary } from '../local/services/servers';

/** One printed table: a title, column names and rows of already formatted cells. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** What one benchmark reports: tables for humans, `data` (raw numbers) for latest.json, notes (caveats). */
export interface BenchResult {
  readonly id: string;
  readonly title: string;
  readonly tables: Table[];
  readonly notes: string[];
  readonly data: Record<string, unknown>;
  /** Set when the benchmark could not run (missing piece); the reason is printed instead of tables. */
  skipped?: string;
}

/** Endpoints of the services the benchmarks use. */
export interface BenchEnv {
  /** moto_server base URL. */
  readonly motoEndpoint: string;
  /** redis-server URL. */
  readonly redisUrl: string;
  /** Repository root. */
  readonly root: string;
  /** Directory for generated files (rows, RESP), removed at the end. */
  readonly workDir: string;
  /** Directory for logs kept after the run (bench-results/). */
  readonly outDir: string;
  readonly quick: boolean;
  /** B1 base size (rows); B1 also runs at 5× (3× in quick mode). */
  readonly rows: number;
  /** B6S also runs at 5 × `rows` (`--store-5m`; minutes on a 2-core machine). */
  readonly storeLarge?: boolean;
  readonly log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

/** Render a table as Markdown (also readable on a terminal): columns padded, numbers right-aligned. */
export function renderTable(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const numeric = t.columns.map(
    (_, i) => t.rows.length > 0 && t.rows.every((r) => /^[-+]?[\d.,]+[×%]?$|^\d+\/\d+$|^–$/.test(r[i] ?? '')),
  );
  const cell = (s: string, i: number) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => cell(c, i)).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [`**${t.title}**`, '', line(t.columns), sep, ...t.rows.map(line)].join('\n');
}

/** Integer with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-US');
/** Fixed decimals. */
export const fixed = (n: number, digits = 2): string => n.toFixed(digits);
/** Bytes as MB (10^6, as `ps`/`free -m` users expect roughly; stated in the column name). */
export const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
/** A ratio as `1.23×`. */
export const ratio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');

// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Percentile (nearest rank) of an ascending sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length > 0 ? s / values.length : Number.NaN;
}

/** Monotonic clock in milliseconds (fractional). */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

// ---------------------------------------------------------------------------------------------------------------
// Child processes

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly wallMs: number;
  readonly stdout: string;
  /** Last ~60 lines of stderr + stdout, for error messages. */
  readonly tail: string;
  readonly timedOut: boolean;
}

export interface ChildOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child's process group after this long. */
  readonly timeoutMs: number;
  /** File descriptor or path used as stdin. @default none */
  readonly stdinFd?: number;
  /** Keep at most this many bytes of stdout. @default 4 MB */
  readonly maxStdout?: number;
  /** Called with each output line (progress). */
  readonly onLine?: (line: string) => void;
}

/** Processes started by {@link runChild} still running; killed when the runner exits. */
const liveChildren = new Set<number>();
process.on('exit', () => {
  for (const pid of liveChildren) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

/**
 * Run a command in its own process group and wait for it; after `timeoutMs` the whole group gets SIGTERM, then
 * SIGKILL 5 s later. Never rejects for a non-zero exit: the caller decides.
 */
export function runChild(command: string, args: readonly string[], options: ChildOptions): Promise<ChildResult> {
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: [options.stdinFd ?? 'ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) {
      reject(new Error(`could not start ${command}`));
      return;
    }
    liveChildren.add(pid);
    const maxStdout = options.maxStdout ?? 4 * 1024 * 1024;
    let stdout = '';
    const tail: string[] = [];
    let partial = '';
    const collect = (text: string, isStdout: boolean) => {
      if (isStdout && stdout.length < maxStdout) stdout += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l);
        options.onLine?.(l);
      }
      while (tail.length > 60) tail.shift();
    };
    child.stdout?.setEncoding('utf8').on('data', (t: string) => collect(t, true));
    child.stderr?.setEncoding('utf8').on('data', (t: string) => collect(t, false));
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // gone
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, 5000);
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      liveChildren.delete(pid);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      liveChildren.delete(pid);
      if (partial) tail.push(partial);
      resolve({ code, signal, wallMs: nowMs() - t0, stdout, tail: tail.join('\n'), timedOut });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Machine description

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly redisServer: string;
  readonly redisCli: string;
  readonly moto: string;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.status !== 0) return undefined;
  return (r.stdout || r.stderr).trim().split('\n')[0];
}

/** moto's version, asked from the Python that runs `moto_server` (its shebang), else `python3`. */
function motoVersion(): string {
  const code = "from importlib.metadata import version; print(version('moto'))";
  const candidates: string[] = [];
  const bin = findBinary('moto_server');
  const pyenvTarget = bin ? firstLine('pyenv', ['which', 'moto_server']) : undefined;
  for (const script of [pyenvTarget, bin]) {
    if (!script) continue;
    const head = spawnSync('head', ['-n1', script], { encoding: 'utf8' }).stdout ?? '';
    const m = /^#!\s*(\S+python\S*)/.exec(head);
    if (m?.[1]) candidates.push(m[1]);
  }
  candidates.push('python3');
  for (const py of candidates) {
    const v = firstLine(py, ['-c', code]);
    if (v) return v;
  }
  return 'unknown';
}

export function describeMachine(): MachineInfo {
  const cpu = cpus();
  let osName = `${process.platform} ${process.arch}`;
  const rel = spawnSync('sh', ['-c', '. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"'], { encoding: 'utf8' });
  if (rel.status === 0 && rel.stdout.trim()) osName = `${rel.stdout.trim()} (${process.arch})`;
  const redisV = firstLine('redis-server', ['--version']);
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: osName,
    node: process.version,
    redisServer: /v=(\S+)/.exec(redisV ?? '')?.[1] ?? redisV ?? 'not installed',
    redisCli: firstLine('redis-cli', ['--version'])?.replace(/^redis-cli\s*/, '') ?? 'not installed',
    moto: motoVersion(),
  };
}

export function machineTable(m: MachineInfo): Table {
  return {
    title: 'Machine',
    columns: ['item', 'value'],
    rows: [
      ['CPU', m.cpuModel],
      ['cores (logical)', String(m.cores)],
      ['memory', `${m.memoryGb} GiB`],
      ['OS', m.os],
      ['node', m.node],
      ['redis-server', m.redisServer],
      ['redis-cli', m.redisCli],
      ['moto', m.moto],
    ],
  };
}

/** Node + tsx command line for running a TypeScript file in a separate process (no npx wrapper process). */
export function tsxCommand(script: string): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', script]];
}
