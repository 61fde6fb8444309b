import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import { redactError } from './redact';

/**
 * The functions' structured logger (JSON lines). Service name and level come from the function's environment
 * (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_LOG_LEVEL`), so one instance serves every handler.
 *
 * Every error that reaches it is serialized through ONE redaction point, {@link redactError}: Powertools' own
 * formatter copies every enumerable property of an error (an ioredis ReplyError's `command.args` holds the AUTH
 * token), and JSON.stringify does the same for an error nested in an object; both paths go through it here.
 */
class RedactingLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: attributes.lambdaContext?.coldStart,
        function_arn: attributes.lambdaContext?.invokedFunctionArn,
        function_memory_size: attributes.lambdaContext?.memoryLimitInMB,
        function_name: attributes.lambdaContext?.functionName,
        function_request_id: attributes.lambdaContext?.awsRequestId,
        sampling_rate: attributes.sampleRateValue,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }

  override formatError(error: Error): LogAttributes {
    return { ...redactError(error) };
  }
}

export const logger = new Logger({
  logFormatter: new RedactingLogFormatter(),
  jsonReplacerFn: (_key: string, value: unknown) => (value instanceof Error ? redactError(value) : value),
});

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
