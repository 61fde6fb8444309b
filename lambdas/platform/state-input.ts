import type { z } from 'zod';
import { ValidationError } from '../../contracts/errors';

/**
 * Parse a state's input (or an event, or a stored document) with its schema. A mismatch is a ValidationError naming
 * `where` and every bad field (a wiring bug in the definition, or a hand-started execution with a bad input), e.g.
 * `CommitLedger: invalid input: work.count: Expected number, received string`.
 *
 * @param what how the message describes a mismatch @default 'invalid input'
 */
export function parseStateInput<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: string,
  what = 'invalid input',
): z.infer<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map(
      (i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`,
    );
    throw new ValidationError(`${where}: ${what}: ${issues.join('; ')}`, { issues });
  }
  return r.data;
}
