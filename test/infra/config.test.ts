import {
  ConfigError,
  DEFAULT_HYPERPARAMETERS,
  EnvironmentConfigSchema,
  loadConfig,
  MAX_STEM_LENGTH,
  parseEnvironmentConfig,
} from '../../lib/config';
import { cdkJsonContext } from './context';

const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });
const environments = cdkJsonContext().environments as Record<string, unknown>;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnvironmentConfig', () => {
  test('an empty block yields the documented defaults', () => {
    const cfg = parseEnvironmentConfig('x', {});
    expect(cfg.envName).toBe('x');
    expect(cfg.namePrefix).toBe('mlops-batch');
    expect(cfg.logRetentionDays).toBe(30);
    expect(cfg.account).toBeUndefined();
    expect(cfg.region).toBeUndefined();
    expect(cfg.cache).toEqual({
      engine: 'redis',
      nodeType: 'cache.t4g.small',
      shards: 1,
      expectedEntities: 5_000_000,
      replicasPerShard: 0,
      multiAz: false,
      port: 6380,
      scoreTtlDays: 7,
      segmentFeature: 'plan',
    });
    expect(cfg.schedule).toEqual({ cron: 'cron(0 2 * * ? *)', timezone: 'UTC', enabled: true, maxRetryAttempts: 3 });
    expect(cfg.api).toEqual({ throttleRateLimit: 500, throttleBurstLimit: 1000, maxBatchIds: 100 });
    expect(cfg.training.useSpot).toBe(true);
    expect(cfg.training.maxWaitSeconds).toBeGreaterThanOrEqual(cfg.training.maxRuntimeSeconds);
    expect(cfg.pipeline.connectionArn).toBeUndefined();
  });

  test('undefined raw block is treated as empty', () => {
    expect(parseEnvironmentConfig('x', undefined)).toEqual(parseEnvironmentConfig('x', {}));
  });

  test('nested defaults fill keys an environment omits', () => {
    const cfg = parseEnvironmentConfig('x', { cache: { engine: 'valkey' } });
    expect(cfg.cache.engine).toBe('valkey');
    expect(cfg.cache.port).toBe(6380);
    expect(EnvironmentConfigSchema.parse({}).cache.engine).toBe('redis');
  });

  test.each<[string, unknown, string, string]>([
    ['cache.engine', { cache: { engine: 'memcached' } }, '"memcached"', 'one of "redis", "valkey"'],
    ['logRetentionDays', { logRetentionDays: 4 }, '4', 'one of 1, 3, 5, 7, 14, 30, 60, 90, 180, 365, 731'],
    ['schedule.cron', { schedule: { cron: 'daily' } }, '"daily"', 'cron(<minutes> <hours>'],
    ['schedule.cron', { schedule: { cron: 'cron(0 25 * * ? *)' } }, '"cron(0 25 * * ? *)"', 'cron(<minutes>'],
    ['schedule.cron', { schedule: { cron: 'cron(0 2 * * * *)' } }, '"cron(0 2 * * * *)"', 'cron(<minutes>'],
    ['batch.reconcileSchedule', { batch: { reconcileSchedule: 'rate(0 hours)' } }, '"rate(0 hours)"', 'cron('],
    ['schedule.timezone', { schedule: { timezone: 'Mars/Base' } }, '"Mars/Base"', 'an IANA time zone'],
    ['training.instanceCount', { training: { instanceCount: 0 } }, '0', 'a number > 0'],
    ['training.instanceType', { training: { instanceType: 'm5.large' } }, '"m5.large"', 'a SageMaker instance type'],
    ['gate.minAuc', { gate: { minAuc: 1.5 } }, '1.5', 'a number <= 1'],
    ['gate.minAuc', { gate: { minAuc: 'high' } }, '"high"', 'a number'],
    ['cache.port', { cache: { port: 80 } }, '80', 'a number >= 1024'],
    ['cache.nodeType', { cache: { nodeType: 'r7g.large' } }, '"r7g.large"', 'an ElastiCache node type'],
    ['cache.multiAz', { cache: { multiAz: true, replicasPerShard: 0 } }, 'true', 'false unless replicasPerShard >= 1'],
    ['account', { account: '1234' }, '"1234"', 'a 12-digit AWS account id'],
    ['region', { region: 'europe' }, '"europe"', 'an AWS region'],
    ['monitoring.alarmEmail', { monitoring: { alarmEmail: 'nope' } }, '"nope"', 'an email address'],
    ['namePrefix', { namePrefix: 'Bad_Prefix' }, '"Bad_Prefix"', 'lowercase letters, digits and dashes'],
    ['pipeline.connectionArn', { pipeline: { connectionArn: 'arn:x' } }, '"arn:x"', 'a connection ARN'],
    [
      'training.maxWaitSeconds',
      { training: { useSpot: true, maxRuntimeSeconds: 7200, maxWaitSeconds: 3600 } },
      '3600',
      'a value >= maxRuntimeSeconds',
    ],
  ])('bad %s names the key, the value and what is allowed', (key, raw, value, allowed) => {
    const err = configError(() => parseEnvironmentConfig('dev', raw));
    expect(err.issues).toHaveLength(1);
    const [issue] = err.issues;
    expect(issue).toContain(`environments.dev.${key} = ${value} is not allowed: expected ${allowed}`);
    expect(err.message).toContain(issue);
    expect(err.message).not.toContain('\n');
  });

  test('an unknown key is named as unknown (typo protection), at any depth', () => {
    const err = configError(() => parseEnvironmentConfig('prod', { cahce: {}, cache: { engin: 'redis' } }));
    expect(err.issues).toEqual(
      expect.arrayContaining([
        expect.stringContaining('environments.prod.cahce = {} is not allowed: unknown key'),
        expect.stringContaining('environments.prod.cache.engin = "redis" is not allowed: unknown key'),
      ]),
    );
  });

  test('schedule refusals carry the reason: the field, the value and its range', () => {
    const err = configError(() => parseEnvironmentConfig('dev', { schedule: { cron: 'cron(0 2 32 * ? *)' } }));
    expect(err.message).toContain('environments.dev.schedule.cron = "cron(0 2 32 * ? *)" is not allowed');
    expect(err.message).toContain('day-of-month "32": 32 is outside 1-31');
    const rate = configError(() => parseEnvironmentConfig('dev', { batch: { reconcileSchedule: 'rate(1 hours)' } }));
    expect(rate.message).toContain('environments.dev.batch.reconcileSchedule = "rate(1 hours)"');
    expect(rate.message).toContain('singular for 1 and plural above');
  });

  test('training.hyperparameters is merged over the defaults: one key replaces that key only', () => {
    const cfg = parseEnvironmentConfig('dev', { training: { hyperparameters: { max_depth: '7' } } });
    expect(cfg.training.hyperparameters).toEqual({ ...DEFAULT_HYPERPARAMETERS, max_depth: '7' });
    // What the gate reads is still there.
    expect(cfg.training.hyperparameters.objective).toBe('binary:logistic');
    expect(cfg.training.hyperparameters.eval_metric?.split(',')).toEqual(expect.arrayContaining(['logloss', 'auc']));
    expect(parseEnvironmentConfig('dev', {}).training.hyperparameters).toEqual(DEFAULT_HYPERPARAMETERS);
    const added = parseEnvironmentConfig('dev', { training: { hyperparameters: { min_child_weight: '3' } } });
    expect(added.training.hyperparameters).toMatchObject({ ...DEFAULT_HYPERPARAMETERS, min_child_weight: '3' });
  });

  test.each<[Record<string, string>, string]>([
    [
      { eval_metric: 'auc' },
      'training.hyperparameters.eval_metric = "auc" is not allowed: expected a list holding logloss and auc',
    ],
    [{ eval_metric: 'error' }, 'missing logloss, auc'],
    [{ objective: 'reg:squarederror' }, 'training.hyperparameters.objective = "reg:squarederror" is not allowed'],
  ])('hyperparameters %j that would blind the gate are refused', (hyperparameters, message) => {
    const err = configError(() => parseEnvironmentConfig('dev', { training: { hyperparameters } }));
    expect(err.message).toContain(message);
    expect(err.message).not.toContain('\n');
  });

  test.each(['Staging', 'qa_1', '__proto__', '', '1qa', 'qa-', 'a'.repeat(14), 'dev prod', 'constructor!'])(
    'environment name %j is refused as a name, in one line',
    (name) => {
      const err = configError(() => parseEnvironmentConfig(name, {}));
      expect(err.message).toContain(
        `${JSON.stringify(name)} is not allowed as an environment name: expected a lower-case`,
      );
      expect(err.message).not.toContain('\n');
    },
  );

  test.each(['dev', 'prod', 'qa-1', 'e', 'a'.repeat(13)])('environment name %j is accepted', (name) => {
    expect(parseEnvironmentConfig(name, {}).envName).toBe(name);
  });

  test('namePrefix and environment name together stay within the bucket-name budget', () => {
    const prefix = 'a'.repeat(21);
    expect(() => parseEnvironmentConfig('abc', { namePrefix: prefix })).not.toThrow();
    expect(`${prefix}-abc`).toHaveLength(MAX_STEM_LENGTH);
    const err = configError(() => parseEnvironmentConfig('abcd', { namePrefix: prefix }));
    expect(err.message).toContain(`environments.abcd.namePrefix = "${prefix}" is not allowed with environment "abcd"`);
    expect(err.message).toContain(`at most ${MAX_STEM_LENGTH} characters`);
    // Bucket names <stem>-artifacts-<12-digit account>-<14-character region> fit in 63 at the limit.
    expect(`${prefix}-abc-artifacts-123456789012-ap-southeast-1`.length).toBeLessThanOrEqual(63);
  });

  test('pipeline.prodEnvironment follows the environment-name rule', () => {
    const err = configError(() => parseEnvironmentConfig('dev', { pipeline: { prodEnvironment: 'Prod_1' } }));
    expect(err.message).toContain('environments.dev.pipeline.prodEnvironment = "Prod_1" is not allowed');
  });

  test('several bad values are all reported in one message', () => {
    const err = configError(() => parseEnvironmentConfig('dev', { cache: { engine: 'x', port: 1 } }));
    expect(err.issues).toHaveLength(2);
    expect(err.message).toContain('cache.engine');
    expect(err.message).toContain('cache.port');
  });
});

describe('loadConfig', () => {
  test('dev from cdk.json is the default environment', () => {
    const cfg = loadConfig(ctx({ environments }));
    expect(cfg.envName).toBe('dev');
    expect(cfg.cache).toMatchObject({ replicasPerShard: 0, multiAz: false, port: 6380, nodeType: 'cache.t4g.small' });
    expect(cfg.schedule.timezone).toBe('UTC');
  });

  test('prod from cdk.json (-c env=prod) is Multi-AZ with a replica', () => {
    const cfg = loadConfig(ctx({ environments, env: 'prod' }));
    expect(cfg.envName).toBe('prod');
    expect(cfg.cache).toMatchObject({ replicasPerShard: 1, multiAz: true, nodeType: 'cache.r7g.large' });
    expect(cfg.schedule).toMatchObject({ cron: 'cron(0 3 * * ? *)', timezone: 'Europe/Berlin' });
    expect(cfg.transform.instanceCount).toBe(2);
    expect(cfg.gate.minAuc).toBe(0.75);
  });

  test('an unknown environment names it and lists the defined ones', () => {
    const err = configError(() => loadConfig(ctx({ environments, env: 'qa' })));
    expect(err.message).toBe(
      'Invalid configuration: env = "qa" is not defined; expected one of dev, prod (cdk.json context.environments)',
    );
  });

  test.each(['__proto__', 'qa_1', 'Staging', 'constructor', 'toString'])(
    '-c env=%s is refused in one line, never a crash',
    (env) => {
      const err = configError(() => loadConfig(ctx({ environments, env })));
      expect(err.message).toMatch(/^Invalid configuration: env/);
      expect(err.message).toContain(`"${env}"`);
      expect(err.message).not.toContain('\n');
    },
  );

  test('a bad environment key in the config file is refused even when another environment is chosen', () => {
    const err = configError(() => loadConfig(ctx({ env: 'dev', environments: { dev: {}, Staging: {}, qa_1: {} } })));
    expect(err.message).toBe(
      'Invalid configuration (cdk.json context): environments."Staging" is not allowed as an environment name: expected a lower-case environment name: a letter, then letters, digits or inner dashes, 1-13 characters (e.g. dev, qa-1); environments."qa_1" is not allowed as an environment name: expected a lower-case environment name: a letter, then letters, digits or inner dashes, 1-13 characters (e.g. dev, qa-1)',
    );
    const proto = configError(() => loadConfig(ctx({ environments: JSON.parse('{"dev":{},"__proto__":{}}') })));
    expect(proto.message).toContain('environments."__proto__" is not allowed as an environment name');
  });

  test('missing environments context is a ConfigError, not a crash', () => {
    const err = configError(() => loadConfig(ctx({})));
    expect(err.message).toContain('environments is missing');
  });

  test('a bad value in cdk.json context is reported with the environment name', () => {
    const err = configError(() => loadConfig(ctx({ env: 'prod', environments: { prod: { cache: { port: 'x' } } } })));
    expect(err.message).toContain('environments.prod.cache.port = "x" is not allowed: expected a number');
  });
});
