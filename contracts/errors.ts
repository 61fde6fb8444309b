/**
 * Typed errors shared by the handlers. Each carries a stable `name` that Step Functions
 * sees as the error name (`States.*` retry/catch rules match on it), so keep the names stable. The name is a string
 * literal, not the class name: function bundles are minified, which renames classes.
 */
export abstract class PipelineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input (a feature file, a request, a CLI argument, a config value) breaks its contract. Not retryable. */
export class ValidationError extends PipelineError {
  override readonly name: string = 'ValidationError';
  constructor(
    message: string,
    /** Machine-readable details (e.g. the validation report). */
    public readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * A function's environment breaks its declaration (contracts/function-env.ts): a variable is missing or malformed.
 * A deployment bug, not retryable.
 */
export class ConfigurationError extends PipelineError {
  override readonly name: string = 'ConfigurationError';
  constructor(
    message: string,
    /** The function, the variable and the value it had. */
    public readonly details?: { readonly function: string; readonly variable: string; readonly value?: string },
  ) {
    super(message);
  }
}

/** A resource the step needs does not exist (no approved model, missing object, missing run). Not retryable. */
export class NotFoundError extends PipelineError {
  override readonly name: string = 'NotFoundError';
}

/** Another run holds the batch lock, or a conditional write lost a race. */
export class ConflictError extends PipelineError {
  override readonly name: string = 'ConflictError';
}

/** A dependency (cache, AWS API) is unavailable; the step may be retried. */
export class DependencyError extends PipelineError {
  override readonly name: string = 'DependencyError';
}

/** Counts disagree (rows in != rows used + rows quarantined; rows loaded != rows in output). Not retryable. */
export class IntegrityError extends PipelineError {
  override readonly name: string = 'IntegrityError';
}

/** A model failed the gate. */
export class GateFailedError extends PipelineError {
  override readonly name: string = 'GateFailedError';
}

/**
 * True for AWS SDK failures worth retrying at the state level: the SDK marked it retryable, the service answered 5xx
 * or throttled, or the connection failed (reset, refused, timed out). Handlers map these to {@link DependencyError},
 * so the state machine's `Retry` on `DependencyError` covers outages longer than the SDK's own quick retries.
 */
export function isTransientAwsError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (TRANSIENT_NAMES.has(e.name)) return true;
  return /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up/.test(`${e.message} ${e.code ?? ''}`);
}

const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionInProgressException',
]);
