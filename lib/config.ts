import type { z } from 'zod';
import {
  ENV_NAME_PATTERN,
  ENV_NAME_RULE,
  type EnvironmentConfig,
  EnvironmentConfigSchema,
  MAX_STEM_LENGTH,
} from './config-schema';

/**
 * Typed, validated settings for one deployment environment.
 *
 * Settings live in `cdk.json` under `context.environments.<name>`; the environment is chosen with
 * `-c env=<name>` (default `dev`). Every field has a default except where noted, so an environment
 * block only lists what differs. A bad value fails synth with one message naming the key, the value
 * and what is allowed (see {@link ConfigError}).
 */

export * from './config-schema';

/** The validated configuration of the chosen environment. */
export interface AppConfig extends EnvironmentConfig {
  /** Environment name (`-c env=<name>`). */
  readonly envName: string;
}

/** A configuration value is missing or not allowed. The message names key, value and what is allowed. */
export class ConfigError extends Error {
  public override readonly name = 'ConfigError';
  constructor(
    message: string,
    public readonly issues: readonly string[],
  ) {
    super(message);
  }
}

function describeValue(root: unknown, path: readonly PropertyKey[]): string {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return 'undefined';
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur === undefined ? '(missing)' : JSON.stringify(cur);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return issue.message;
    case 'too_small':
      return `${issue.origin === 'number' ? 'a number' : 'a value'} ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.origin === 'number' ? 'a number' : 'a value'} ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'invalid_type':
      return `a ${issue.expected}`;
    default:
      return issue.message;
  }
}

/**
 * Validate the raw settings of one environment.
 *
 * @param envName name used in messages (`environments.<envName>.<key>`)
 * @param raw the environment block from cdk.json context
 * @throws ConfigError naming every bad key, its value and what is allowed
 */
export function parseEnvironmentConfig(envName: string, raw: unknown): AppConfig {
  const nameProblem = envNameProblem(envName);
  if (nameProblem)
    throw new ConfigError(`Invalid configuration (cdk.json context): environments.${nameProblem}`, [nameProblem]);
  const result = EnvironmentConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => {
          const key = ['environments', envName, ...issue.path.map(String), k].join('.');
          return `${key} = ${describeValue(raw, [...issue.path, k])} is not allowed: unknown key (check the spelling; see the configuration table in README.md)`;
        });
      }
      const key = ['environments', envName, ...issue.path.map(String)].join('.');
      return [`${key} = ${describeValue(raw, issue.path)} is not allowed: expected ${describeIssue(issue)}`];
    });
    throw new ConfigError(`Invalid configuration (cdk.json context): ${issues.join('; ')}`, issues);
  }
  const stem = `${result.data.namePrefix}-${envName}`;
  if (stem.length > MAX_STEM_LENGTH) {
    const issue = `environments.${envName}.namePrefix = ${JSON.stringify(result.data.namePrefix)} is not allowed with environment "${envName}": expected "<namePrefix>-<environment>" ("${stem}", ${stem.length} characters) to be at most ${MAX_STEM_LENGTH} characters (bucket names <namePrefix>-<environment>-artifacts-<account>-<region> are limited to 63)`;
    throw new ConfigError(`Invalid configuration (cdk.json context): ${issue}`, [issue]);
  }
  return { envName, ...result.data };
}

/** Why `name` is not a valid environment name (as `<name> ...` for a message), or undefined when it is. */
export function envNameProblem(name: string): string | undefined {
  return ENV_NAME_PATTERN.test(name)
    ? undefined
    : `${JSON.stringify(name)} is not allowed as an environment name: expected ${ENV_NAME_RULE}`;
}

/** Minimal view of a CDK node's context lookup, so this module stays free of construct imports. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * Load the environment chosen with `-c env=<name>` (default `dev`) from `context.environments`.
 *
 * @throws ConfigError when the environment is unknown or a value is invalid
 */
export function loadConfig(ctx: ContextSource): AppConfig {
  const chosen = ctx.tryGetContext('env') ?? 'dev';
  const envName = typeof chosen === 'string' ? chosen : JSON.stringify(chosen);
  const chosenProblem = envNameProblem(envName);
  if (chosenProblem) {
    throw new ConfigError(`Invalid configuration: env ${chosenProblem} (-c env)`, [chosenProblem]);
  }
  const environments = ctx.tryGetContext('environments');
  if (environments === undefined || environments === null || typeof environments !== 'object') {
    throw new ConfigError(
      'Invalid configuration (cdk.json context): environments is missing; expected an object of environment blocks',
      ['environments is missing'],
    );
  }
  const envs = environments as Record<string, unknown>;
  // Every environment block is named correctly, not only the chosen one: a bad name would fail the day it is deployed.
  const badNames = Object.keys(envs).flatMap((name) => envNameProblem(name) ?? []);
  if (badNames.length > 0) {
    throw new ConfigError(
      `Invalid configuration (cdk.json context): environments.${badNames.join('; environments.')}`,
      badNames,
    );
  }
  if (!Object.hasOwn(envs, envName)) {
    const known = Object.keys(envs).join(', ');
    throw new ConfigError(
      `Invalid configuration: env = "${envName}" is not defined; expected one of ${known} (cdk.json context.environments)`,
      [`env = ${envName} unknown`],
    );
  }
  return parseEnvironmentConfig(envName, envs[envName]);
}

/** Days of partitions a Production change rescores: `batch.rescoreWindowDays`, else the score TTL. */
export function rescoreWindowDays(config: AppConfig): number {
  return config.batch.rescoreWindowDays ?? config.cache.scoreTtlDays;
}
