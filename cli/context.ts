import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CliUsageError } from './errors';
import type { OutputOptions } from './output';
import type { Target } from './target';

/** The global options and the target of a command (what every command group in cli/ gets). */

export interface GlobalOptions extends OutputOptions {
  readonly env: string;
  readonly local?: boolean;
}

export interface CliContext {
  readonly opts: () => GlobalOptions;
  /** The target of `--env` / `--local`, resolved once per command. */
  readonly target: () => Promise<Target>;
}

const REPO_ROOT = path.resolve(__dirname, '..');

interface CdkJson {
  readonly context?: { env?: string; environments?: Record<string, { namePrefix?: string }> };
}

let cdkJsonCache: CdkJson | undefined;
export function cdkJson(): CdkJson {
  cdkJsonCache ??= JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as CdkJson;
  return cdkJsonCache;
}

/** The default environment (cdk.json context.env). */
export const defaultEnv = (): string => cdkJson().context?.env ?? 'dev';

/** The environment's name prefix; an environment cdk.json does not define is a usage error. */
export function namePrefixOf(envName: string): string {
  const envs = cdkJson().context?.environments ?? {};
  if (!Object.hasOwn(envs, envName)) {
    throw new CliUsageError(
      `--env "${envName}" is not an environment of cdk.json (context.environments): expected one of ${Object.keys(envs).join(', ') || '(none)'}`,
    );
  }
  return envs[envName]?.namePrefix ?? 'mlops-batch';
}

/** Resolve the target of the global options: AWS (stack outputs) or the local runtime. */
export async function resolveTarget(opts: GlobalOptions): Promise<Target> {
  const namePrefix = namePrefixOf(opts.env);
  const local = opts.local === true || Boolean(process.env.AWS_ENDPOINT_URL);
  if (local && !process.env.AWS_ENDPOINT_URL) {
    throw new CliUsageError(
      '--local needs AWS_ENDPOINT_URL (moto_server) and REDIS_URL (redis-server) of a running local runtime; `npm run local -- --keep` prints them',
    );
  }
  if (!local) {
    const { resolveAwsTarget } = require('./target') as typeof import('./target');
    return resolveAwsTarget(namePrefix, opts.env);
  }
  // moto_server accepts any credentials; the local runtime's defaults (as `npm run local` sets them in-process).
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const { resolveLocalTarget } = require('./local-target') as typeof import('./local-target');
  return resolveLocalTarget(opts.env, namePrefix);
}
