/**
 * Which local process runs which execution. On AWS, Step Functions knows whether an execution still runs
 * (DescribeExecution); locally an execution lives only inside the process that runs it (sfn-runner.ts), and a process
 * killed with SIGKILL runs no failure path: its run record stays RUNNING. Each local execution therefore leaves a small
 * file naming its execution ARN, the moto endpoint, and the pid and host of its process while it runs, removed when it
 * ends; a file whose process is gone is what a killed execution leaves behind. `mlops-batch --local runs` reads it
 * (cli/stale-runs.ts).
 *
 * A file per execution (not an item in moto): the evidence must survive the process, and a file cannot be left half
 * written by a kill in the middle of a DynamoDB call.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/** One running (or killed) local execution. */
export interface LocalExecutionEntry {
  readonly executionArn: string;
  /** AWS_ENDPOINT_URL of the execution (one machine may run several moto_servers). */
  readonly endpoint: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

/** How a local execution stands, seen from another process. */
export type LocalExecutionStatus =
  | { readonly state: 'RUNNING' }
  /** Its process is gone without having ended it: killed. */
  | { readonly state: 'GONE'; readonly pid: number; readonly host: string }
  /** No trace of it here (ended normally, or run on another machine): nothing can be said. */
  | { readonly state: 'UNKNOWN' };

/** Where the entries live: MLOPS_LOCAL_EXECUTIONS_DIR, else a directory under the OS temp dir. */
export function registryDir(): string {
  return process.env.MLOPS_LOCAL_EXECUTIONS_DIR || join(tmpdir(), 'mlops-batch-local-executions');
}

/**
 * Record that process `pid` (this one) runs `executionArn`; the returned function removes the record (call it when
 * the execution ends).
 */
export function registerLocalExecution(executionArn: string, endpoint: string, pid = process.pid): () => void {
  const dir = registryDir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${pid}-${randomUUID()}.json`);
  const entry: LocalExecutionEntry = {
    executionArn,
    endpoint,
    pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(file, JSON.stringify(entry));
  return () => rmSync(file, { force: true });
}

/** True while process `pid` exists (signal 0 checks without signalling; EPERM means it exists, owned by another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function entries(): { file: string; entry: LocalExecutionEntry }[] {
  const dir = registryDir();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: { file: string; entry: LocalExecutionEntry }[] = [];
  for (const n of names) {
    const file = join(dir, n);
    try {
      out.push({ file, entry: JSON.parse(readFileSync(file, 'utf8')) as LocalExecutionEntry });
    } catch {
      // removed meanwhile (the execution ended), or not ours
    }
  }
  return out;
}

/**
 * Is `executionArn` (against moto at `endpoint`) still running in a process of this host? RUNNING when a live process
 * has it; GONE when only processes that no longer exist had it; UNKNOWN when this host has no record of it.
 */
export function localExecutionStatus(executionArn: string, endpoint: string): LocalExecutionStatus {
  const host = hostname();
  const mine = entries().filter(
    ({ entry }) => entry.executionArn === executionArn && entry.endpoint === endpoint && entry.host === host,
  );
  if (mine.length === 0) return { state: 'UNKNOWN' };
  if (mine.some(({ entry }) => alive(entry.pid))) return { state: 'RUNNING' };
  return { state: 'GONE', pid: mine[0]!.entry.pid, host };
}

/** Forget the entries a killed execution left (after its run record was reconciled). */
export function forgetGoneExecution(executionArn: string, endpoint: string): void {
  for (const { file, entry } of entries()) {
    if (entry.executionArn === executionArn && entry.endpoint === endpoint && !alive(entry.pid)) {
      rmSync(file, { force: true });
    }
  }
}
