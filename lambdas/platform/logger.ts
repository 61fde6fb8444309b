import { Logger } from '@aws-lambda-powertools/logger';

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
