import { DependencyError, isTransientAwsError, ValidationError } from '../../contracts/errors';

describe('isTransientAwsError', () => {
  const sdkError = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(name), { name, ...extra });

  it.each([
    ['SDK-retryable', sdkError('Whatever', { $retryable: {} })],
    ['5xx', sdkError('InternalFailure', { $metadata: { httpStatusCode: 503 } })],
    ['429', sdkError('TooMany', { $metadata: { httpStatusCode: 429 } })],
    ['throttling', sdkError('ProvisionedThroughputExceededException')],
    ['timeout', sdkError('TimeoutError')],
    ['connection reset', new Error('AWS SDK error wrapper for TimeoutError: connect ECONNRESET 127.0.0.1:4566')],
    ['connection refused', Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' })],
  ])('treats %s as transient', (_label, err) => {
    expect(isTransientAwsError(err)).toBe(true);
  });

  it.each([
    ['conditional check', sdkError('ConditionalCheckFailedException', { $metadata: { httpStatusCode: 400 } })],
    ['access denied', sdkError('AccessDeniedException', { $metadata: { httpStatusCode: 400 } })],
    ['a pipeline error', new ValidationError('bad row')],
    ['a non-error', 'ECONNRESET'],
  ])('does not treat %s as transient', (_label, err) => {
    expect(isTransientAwsError(err)).toBe(false);
  });

  it('keeps the name DependencyError for Step Functions retry rules', () => {
    expect(new DependencyError('x').name).toBe('DependencyError');
  });
});

describe('error names in a minified bundle', () => {
  // ProjectFunction bundles with esbuild minify, which renames classes: Step Functions' Retry/Catch rules match the
  // error name, so each name must survive minification.
  it('keeps every typed error name after esbuild minify', async () => {
    const esbuild = await import('esbuild');
    const path = await import('node:path');
    const out = await esbuild.build({
      stdin: {
        contents: `const e = require('./errors'); module.exports = Object.keys(e).filter((k) => /^[A-Z][A-Za-z]*Error$/.test(k) && k !== 'PipelineError').map((k) => [k, new e[k]('x').name]);`,
        resolveDir: path.resolve(__dirname, '../../contracts'),
        loader: 'ts',
      },
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      logLevel: 'silent',
    });
    const mod = { exports: [] as [string, string][] };
    new Function('module', 'exports', 'require', out.outputFiles[0]!.text)(mod, mod.exports, require);
    expect(mod.exports.length).toBeGreaterThanOrEqual(7);
    for (const [exported, name] of mod.exports) expect(name).toBe(exported);
  });
});
