/**
 * XGBoost 1.7 for the local stand-ins: locating it and running `xgboost_job.py` (shipped beside this file).
 *
 * Python (python3-xgboost), not the `xgboost` command-line program: the CLI has no early stopping (the configured
 * `early_stopping_rounds`), no per-round evaluation callbacks and no model attributes (best iteration), while the
 * SageMaker container is itself a Python program around `xgb.train` (https://github.com/aws/sagemaker-xgboost-container,
 * branch 1.7-1). The Python package gives the same training loop, the same `xgboost-model` file and the same
 * evaluation log.
 *
 * Which interpreter: `XGBOOST_PYTHON` when set, else `/usr/bin/python3` (where Debian's python3-xgboost lives; a
 * pyenv or venv `python3` earlier on PATH usually lacks it), else `python3` on PATH. The first one whose
 * `import xgboost` reports a 1.7.x version is used.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { findBinary, MissingBinaryError } from '../services/servers';

/** The XGBoost line SageMaker's built-in algorithm 1.7-1 runs. */
export const XGBOOST_LINE = '1.7';
export const XGBOOST_INSTALL_HINT = 'Install it with: apt-get install -y xgboost python3-xgboost';
export const XGBOOST_SCRIPT = path.join(__dirname, 'xgboost_job.py');

/** XGBoost 1.7 is not available to any candidate interpreter. */
export class MissingXgboostError extends MissingBinaryError {
  constructor(detail: string) {
    super('xgboost', XGBOOST_INSTALL_HINT);
    this.message = `XGBoost ${XGBOOST_LINE} for Python is not installed (${detail}). ${XGBOOST_INSTALL_HINT}`;
  }
}

export interface XgboostRuntime {
  /** The interpreter that imports xgboost. */
  readonly python: string;
  /** xgboost.__version__, e.g. 1.7.4. */
  readonly version: string;
}

let cached: { runtime?: XgboostRuntime; detail: string } | undefined;

function candidates(): string[] {
  const out: string[] = [];
  const fromEnv = process.env.XGBOOST_PYTHON;
  if (fromEnv) out.push(fromEnv);
  out.push('/usr/bin/python3');
  const onPath = findBinary('python3');
  if (onPath) out.push(onPath);
  return [...new Set(out)];
}

/** The interpreter with XGBoost 1.7 (looked up once per process), or undefined with the reason in `detail`. */
export function findXgboost(): { runtime?: XgboostRuntime; detail: string } {
  if (cached) return cached;
  const seen: string[] = [];
  for (const python of candidates()) {
    if (!findBinary(python)) continue;
    let version: string;
    try {
      version = execFileSync(python, ['-c', 'import xgboost; print(xgboost.__version__)'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      }).trim();
    } catch {
      seen.push(`${python}: no xgboost module`);
      continue;
    }
    if (version.startsWith(`${XGBOOST_LINE}.`)) {
      cached = { runtime: { python, version }, detail: `${python}: xgboost ${version}` };
      return cached;
    }
    seen.push(`${python}: xgboost ${version}, not ${XGBOOST_LINE}.x`);
  }
  cached = { detail: seen.join('; ') || 'no python3 found' };
  return cached;
}

/** The XGBoost 1.7 runtime. @throws MissingXgboostError naming the apt command */
export function requireXgboost(): XgboostRuntime {
  const found = findXgboost();
  if (!found.runtime) throw new MissingXgboostError(found.detail);
  return found.runtime;
}

export interface ScriptRun {
  /** Exit code 0: the result; 1: the request's problem (`error`). */
  readonly result: Record<string, unknown>;
  readonly stdout: string;
}

/** Run `xgboost_job.py <mode> request result`; rejects with the script's stderr when it crashed. */
export function runXgboostScript(
  mode: 'train' | 'predict',
  requestFile: string,
  resultFile: string,
  readResult: () => Record<string, unknown> | undefined,
): Promise<ScriptRun> {
  const { python } = requireXgboost();
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [XGBOOST_SCRIPT, mode, requestFile, resultFile],
      {
        maxBuffer: 256 * 1024 * 1024,
        // Idle OpenMP threads sleep instead of spinning: on a machine busy with other work (tests, servers), spinning
        // threads made xgb.train up to 8× slower here; results are the same either way.
        env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      },
      (err, stdout, stderr) => {
        const result = readResult();
        if (result && (!err || err.code === 1)) {
          resolve({ result, stdout });
          return;
        }
        const tail = stderr.trim().split('\n').slice(-5).join(' | ');
        reject(new Error(`xgboost_job.py ${mode} failed (${err?.message ?? 'no result'}): ${tail}`));
      },
    );
  });
}

/**
 * Final value of each metric (`<data>:<metric>`, e.g. `validation:auc`) and the number of evaluated rounds, from the
 * training script's result (XGBoost's evaluation record: the same values its log prints, 5 decimals). SageMaker's
 * metric definitions for the algorithm take the last value a regex such as `.*\[[0-9]+\].*#011validation-auc:(\S+)`
 * matches in the log (#011 is the tab), which is this last value.
 */
export function finalMetricsOf(result: Record<string, unknown>): { metrics: Record<string, number>; rounds: number } {
  const raw = (result.finalMetrics ?? {}) as Record<string, unknown>;
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(raw)) if (typeof value === 'number') metrics[name] = value;
  return { metrics, rounds: typeof result.evaluatedRounds === 'number' ? result.evaluatedRounds : 0 };
}
