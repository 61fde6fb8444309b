import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/**
 * The functions' structured logger (JSON lines). Service name and level come from the function's environment
 * (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`), so one instance serves every handler.
 */
export const logger = new Logger();

/** What cores log through: the Powertools logger in a function, anything with the same two methods in tests. */
export interface StepLogger {
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
}

/**
 * The handler, with the invocation's context (request id, function name and version, cold start) added to every log
 * line it writes: what Powertools' `injectLambdaContext` middleware does, without taking middy for this one call.
 * Tests may call the handler without a context; then nothing is added.
 */
export function withLambdaContext<E, R>(
  fn: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return (event, context) => {
    if (context) logger.addContext(context);
    return fn(event, context);
  };
}
