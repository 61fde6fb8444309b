import { ValidationError } from '../contracts/errors';

/** Bad command-line usage that commander cannot see (exit code 2). */
export class CliUsageError extends ValidationError {}

/** A request the core refused (bad prefix, id, segment) is a bad argument of the command line: exit code 2. */
export async function asUsageError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof ValidationError && !(e instanceof CliUsageError)) throw new CliUsageError(e.message);
    throw e;
  }
}

/**
 * A run that ended without success (exit code 1). Its summary is already printed (on stdout, as JSON with --json);
 * the message is the one line on stderr.
 */
export class RunFailedError extends Error {
  override readonly name = 'RunFailedError';
}
