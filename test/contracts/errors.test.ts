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
