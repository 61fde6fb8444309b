import { ConfigError, EnvironmentConfigSchema, loadConfig, parseEnvironmentConfig } from '../../lib/config';
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
    ['schedule.cron', { schedule: { cron: 'daily' } }, '"daily"', 'cron(<min> <hour>'],
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

  test('missing environments context is a ConfigError, not a crash', () => {
    const err = configError(() => loadConfig(ctx({})));
    expect(err.message).toContain('environments is missing');
  });

  test('a bad value in cdk.json context is reported with the environment name', () => {
    const err = configError(() => loadConfig(ctx({ env: 'prod', environments: { prod: { cache: { port: 'x' } } } })));
    expect(err.message).toContain('environments.prod.cache.port = "x" is not allowed: expected a number');
  });
});
