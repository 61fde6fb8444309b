import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigurationError } from '../../contracts/errors';
import {
  FUNCTION_ENV,
  type FunctionEnvironment,
  functionEnvironment,
  functionEnvLoader,
  parseFunctionEnv,
} from '../../contracts/function-env';

const acquireLockEnv = {
  TABLE_NAME: 'Pipeline',
  FEATURES_BUCKET: 'features',
  ARTIFACTS_BUCKET: 'artifacts',
  KMS_KEY_ARN: 'arn:aws:kms:us-east-1:123456789012:key/k',
  CODE_VERSION: 'abc123',
  LOCK_LEASE_SECONDS: '600',
} satisfies FunctionEnvironment<'acquire-lock'>;

describe('the declaration', () => {
  it('covers exactly the functions under lambdas/functions/', () => {
    const dirs = fs
      .readdirSync(path.join(__dirname, '..', '..', 'lambdas', 'functions'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(Object.keys(FUNCTION_ENV).sort()).toEqual(dirs);
  });
});

describe('parseFunctionEnv', () => {
  it('returns typed values: integers, numbers, booleans, lists, JSON and defaults', () => {
    expect(parseFunctionEnv('acquire-lock', acquireLockEnv)).toMatchObject({
      TABLE_NAME: 'Pipeline',
      LOCK_LEASE_SECONDS: 600,
      CODE_VERSION: 'abc123',
    });
    expect(parseFunctionEnv('acquire-lock', { ...acquireLockEnv, CODE_VERSION: '' }).CODE_VERSION).toBe('unknown');

    const prepare = parseFunctionEnv('prepare-inference-data', {
      TABLE_NAME: 't',
      ARTIFACTS_BUCKET: 'a',
      MAX_INVALID_ROW_RATIO: '0.05',
      MAX_REPORTED_VIOLATIONS: '100',
      FAIL_ON_DRIFT: 'true',
    });
    const slice = parseFunctionEnv('prepare-slice', {
      FEATURES_BUCKET: 'f',
      ARTIFACTS_BUCKET: 'a',
      SEGMENT_FEATURE: 'plan',
      MAX_REPORTED_VIOLATIONS: '100',
    });
    expect(slice).toMatchObject({ TARGET_ROWS_PER_PART: 1_000_000, COALESCE_ROWS: undefined });
    expect(parseFunctionEnv('plan-prepare', { FEATURES_BUCKET: 'f', ARTIFACTS_BUCKET: 'a' })).toMatchObject({
      PREPARE_BYTES_PER_TASK: 512 * 1024 ** 2,
    });
    expect(prepare).toMatchObject({
      MAX_INVALID_ROW_RATIO: 0.05,
      MAX_REPORTED_VIOLATIONS: 100,
      DRIFT_PSI_THRESHOLD: 0.2,
      FAIL_ON_DRIFT: true,
      KMS_KEY_ARN: undefined,
    });

    const start = parseFunctionEnv('start-run', {
      TABLE_NAME: 't',
      FEATURES_BUCKET: 'f',
      ARTIFACTS_BUCKET: 'a',
      GATE_MIN_AUC: '0.7',
      TRAINING_PARAMS: '{"instanceType":"ml.m5.xlarge"}',
    });
    expect(start).toMatchObject({
      GATE_MIN_AUC: 0.7,
      GATE_MAX_LOGLOSS: undefined,
      TRAINING_PARAMS: { instanceType: 'ml.m5.xlarge' },
    });

    const register = parseFunctionEnv('register-model', {
      TABLE_NAME: 't',
      MODEL_PACKAGE_GROUP_NAME: 'g',
      INFERENCE_IMAGE_URI: 'img',
      TRANSFORM_INSTANCE_TYPES: 'ml.m5.large, ml.m5.xlarge,',
    });
    expect(register.TRANSFORM_INSTANCE_TYPES).toEqual(['ml.m5.large', 'ml.m5.xlarge']);

    expect(parseFunctionEnv('read-scores', {})).toMatchObject({ MAX_BATCH_IDS: 100, CACHE_TLS: true });
    expect(parseFunctionEnv('read-scores', { CACHE_PORT: '6380', CACHE_TLS: 'false' })).toMatchObject({
      CACHE_PORT: 6380,
      CACHE_TLS: false,
    });
  });

  it('a missing variable: one ConfigurationError line naming the function and the variable', () => {
    const { TABLE_NAME: _, ...env } = acquireLockEnv;
    let err: unknown;
    try {
      parseFunctionEnv('acquire-lock', env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).name).toBe('ConfigurationError');
    expect((err as Error).message).toBe(
      'acquire-lock: environment variable TABLE_NAME is not set (TABLE_NAME must be a non-empty string)',
    );
    expect((err as ConfigurationError).details).toEqual({
      function: 'acquire-lock',
      variable: 'TABLE_NAME',
      value: undefined,
    });
    // Empty is the same as unset.
    expect(() => parseFunctionEnv('acquire-lock', { ...acquireLockEnv, TABLE_NAME: '' })).toThrow(
      'TABLE_NAME is not set',
    );
  });

  it.each([
    [
      'acquire-lock',
      { ...acquireLockEnv, LOCK_LEASE_SECONDS: 'soon' },
      'LOCK_LEASE_SECONDS = "soon" is not a positive integer',
    ],
    [
      'acquire-lock',
      { ...acquireLockEnv, LOCK_LEASE_SECONDS: '1.5' },
      'LOCK_LEASE_SECONDS = "1.5" is not a positive integer',
    ],
    ['read-scores', { MAX_BATCH_IDS: '1001' }, 'MAX_BATCH_IDS = "1001" is not an integer in 1..1000'],
    ['read-scores', { CACHE_TLS: 'yes' }, 'CACHE_TLS = "yes" is not "true" or "false"'],
    ['read-scores', { CACHE_PORT: '70000' }, 'CACHE_PORT = "70000" is not a port number (1..65535) (optional)'],
    [
      'start-run',
      { TABLE_NAME: 't', FEATURES_BUCKET: 'f', ARTIFACTS_BUCKET: 'a', TRAINING_PARAMS: '{' },
      'TRAINING_PARAMS = "{" is not JSON',
    ],
    [
      'register-model',
      { TABLE_NAME: 't', MODEL_PACKAGE_GROUP_NAME: 'g', INFERENCE_IMAGE_URI: 'i', TRANSFORM_INSTANCE_TYPES: ' , ' },
      'TRANSFORM_INSTANCE_TYPES = " , " is not a comma-separated list',
    ],
  ] as const)('a bad value in %s: one line naming the function, variable, value and rule', (name, env, expected) => {
    let message = '';
    try {
      parseFunctionEnv(name, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigurationError);
      message = (e as Error).message;
    }
    expect(message.startsWith(`${name}: environment variable `)).toBe(true);
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
  });

  it('shortens a long value in the message', () => {
    const message = (() => {
      try {
        parseFunctionEnv('acquire-lock', { ...acquireLockEnv, LOCK_LEASE_SECONDS: 'x'.repeat(500) });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message.length).toBeLessThan(300);
  });
});

describe('functionEnvLoader', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of Object.keys(FUNCTION_ENV.notify)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('parses once while the variables stay the same, again when one changes', () => {
    process.env.ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:a';
    const env = functionEnvLoader('notify');
    const first = env();
    expect(first.ALERT_TOPIC_ARN).toBe('arn:aws:sns:us-east-1:123456789012:a');
    expect(env()).toBe(first);
    process.env.ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:b';
    expect(env().ALERT_TOPIC_ARN).toBe('arn:aws:sns:us-east-1:123456789012:b');
    delete process.env.ALERT_TOPIC_ARN;
    expect(() => env()).toThrow('notify: environment variable ALERT_TOPIC_ARN is not set');
  });
});

describe('functionEnvironment', () => {
  it('returns the environment as given (same keys, same order)', () => {
    const out = functionEnvironment('acquire-lock', acquireLockEnv);
    expect(Object.entries(out)).toEqual(Object.entries(acquireLockEnv));
  });

  it('does not compile with a missing or an unknown variable', () => {
    const { LOCK_LEASE_SECONDS: _, ...missing } = acquireLockEnv;
    // @ts-expect-error LOCK_LEASE_SECONDS is missing
    functionEnvironment('acquire-lock', missing);
    // @ts-expect-error EXTRA is not declared for acquire-lock
    functionEnvironment('acquire-lock', { ...acquireLockEnv, EXTRA: 'x' });
    const approvers = {
      TABLE_NAME: 't',
      FEATURES_BUCKET: 'f',
      ARTIFACTS_BUCKET: 'a',
      MODEL_PACKAGE_GROUP_NAME: 'g',
      CODE_VERSION: 'c',
      APPROVER_TOPIC_ARN: 'arn',
    };
    functionEnvironment('notify-approvers', approvers);
    // @ts-expect-error AWS_REGION is set by the Lambda runtime, never by a construct
    functionEnvironment('notify-approvers', { ...approvers, AWS_REGION: 'eu-west-1' });
    // record-failure: MODEL_PACKAGE_GROUP_NAME and KMS_KEY_ARN depend on the workflow that creates it.
    functionEnvironment('record-failure', {
      TABLE_NAME: 't',
      FEATURES_BUCKET: 'f',
      ARTIFACTS_BUCKET: 'a',
      CODE_VERSION: 'c',
    });
  });
});
