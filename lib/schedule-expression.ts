/**
 * EventBridge schedule expressions (`cron(...)`, `rate(...)`), checked field by field at synth so a bad schedule is
 * refused with the reason instead of failing the deploy (or, worse, deploying a schedule that never fires).
 *
 * Hand-written rather than a library: the npm parsers of AWS cron either do not validate (aws-cron-parser reads
 * `99` in the hours field as hour 99 and ignores the `?` rule) or parse Unix cron, which has no year field and no
 * `? L W #`. The rules follow the EventBridge user guide, "Cron expressions reference" and "Rate expressions
 * reference" (the same syntax EventBridge Scheduler uses):
 *
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields separated by white space; values 0-59,
 *   0-23, 1-31, 1-12 or JAN-DEC, 1-7 or SUN-SAT, 1970-2199; wildcards `, - * /` in every field but day-of-week,
 *   `? L W` in day-of-month, `? L #` in day-of-week; one of day-of-month / day-of-week must be `?` (a value or `*`
 *   in one needs `?` in the other); a `#` expression stands alone in day-of-week.
 * - `rate(value unit)`: a positive whole number and minute(s) / hour(s) / day(s), singular for 1, plural above.
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Month or weekday names, index 0 = `min`. */
  readonly names?: readonly string[];
  /** `/` increments allowed (not in day-of-week). */
  readonly step: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const MINUTES: Field = { name: 'minutes', min: 0, max: 59, step: true };
const HOURS: Field = { name: 'hours', min: 0, max: 23, step: true };
const DAY_OF_MONTH: Field = { name: 'day-of-month', min: 1, max: 31, step: true };
const MONTH: Field = { name: 'month', min: 1, max: 12, names: MONTHS, step: true };
const DAY_OF_WEEK: Field = { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, step: false };
const YEAR: Field = { name: 'year', min: 1970, max: 2199, step: true };
const FIELDS = [MINUTES, HOURS, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR] as const;

/** What a valid expression looks like, for messages. */
export const SCHEDULE_EXPRESSION_RULE =
  'cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>) or rate(<n> minute(s)|hour(s)|day(s))';

class Problem extends Error {}

/** A single value of `field`: a number in range or (month, weekday) a three-letter name. */
function value(field: Field, text: string, whole: string): number {
  const upper = text.toUpperCase();
  const named = field.names?.indexOf(upper) ?? -1;
  if (named >= 0) return field.min + named;
  if (!/^\d{1,4}$/.test(text)) {
    const what = field.names
      ? `a number ${field.min}-${field.max} or ${field.names[0]}-${field.names.at(-1)}`
      : 'a number';
    throw new Problem(`${field.name} "${whole}": "${text}" is not ${what}`);
  }
  const n = Number(text);
  if (n < field.min || n > field.max) {
    throw new Problem(`${field.name} "${whole}": ${n} is outside ${field.min}-${field.max}`);
  }
  return n;
}

/** `*`, `v`, `a-b`, each optionally `/n`, as one item of a comma-separated list. */
function item(field: Field, text: string, whole: string): void {
  const [base = '', step, extra] = text.split('/');
  if (extra !== undefined) throw new Problem(`${field.name} "${whole}": "${text}" has more than one "/"`);
  if (step !== undefined) {
    if (!field.step) throw new Problem(`${field.name} "${whole}": "/" is not allowed in ${field.name}`);
    if (!/^\d{1,4}$/.test(step) || Number(step) < 1 || Number(step) > field.max - field.min + 1) {
      throw new Problem(`${field.name} "${whole}": increment "${step}" is not a number 1-${field.max - field.min + 1}`);
    }
  }
  if (base === '*') return;
  const range = base.split('-');
  if (range.length > 2) throw new Problem(`${field.name} "${whole}": "${base}" is not a value or a range a-b`);
  for (const part of range) value(field, part, whole);
}

/** `L`, `LW`, `<day>W` in day-of-month; `L`, `<weekday>L`, `<weekday>#<n>` in day-of-week. */
const SPECIAL: ReadonlyMap<Field, RegExp> = new Map([
  [DAY_OF_MONTH, /^(?:L|LW|(\d{1,2})W)$/i],
  [DAY_OF_WEEK, /^(?:L|(\d|[A-Z]{3})L|(\d|[A-Z]{3})#(\d+))$/i],
]);

/** Checks a special item (see {@link SPECIAL}); false when `text` is not one. */
function special(field: Field, text: string, whole: string): boolean {
  const m = SPECIAL.get(field)?.exec(text);
  if (!m) return false;
  const day = m[1] ?? m[2];
  if (day !== undefined) value(field, day, whole);
  if (m[3] !== undefined && !/^[1-5]$/.test(m[3])) {
    throw new Problem(`${field.name} "${whole}": "#${m[3]}" must name the 1st to 5th weekday of the month (#1-#5)`);
  }
  return true;
}

function checkField(field: Field, text: string): void {
  if (text === '?') {
    if (field !== DAY_OF_MONTH && field !== DAY_OF_WEEK) {
      throw new Problem(`${field.name} "${text}": "?" is only allowed in day-of-month or day-of-week`);
    }
    return;
  }
  const items = text.split(',');
  for (const it of items) {
    if (it === '') throw new Problem(`${field.name} "${text}": an empty list item`);
    if (it === '?') throw new Problem(`${field.name} "${text}": "?" must stand alone`);
    if (special(field, it, text)) {
      // L, W and # name one day each: the user guide allows a # expression only on its own, and Quartz (whose syntax
      // this is) documents W and L-with-other-days as single-day only.
      if (items.length > 1) throw new Problem(`${field.name} "${text}": "${it}" must stand alone (no list)`);
      continue;
    }
    item(field, it, text);
  }
}

function checkCron(body: string): void {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Problem(
      `${fields.length} field(s) "${body}"; cron needs 6 (minutes hours day-of-month month day-of-week year)`,
    );
  }
  for (const [i, field] of FIELDS.entries()) checkField(field, fields[i] ?? '');
  const dom = fields[2];
  const dow = fields[4];
  if ((dom === '?') === (dow === '?')) {
    throw new Problem(
      `day-of-month "${dom}" and day-of-week "${dow}": exactly one of them must be "?" (a value or * in one needs ? in the other)`,
    );
  }
}

function checkRate(body: string): void {
  const m = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!m) throw new Problem(`"${body}" is not "<n> <unit>" with unit minute(s), hour(s) or day(s)`);
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  if (!Number.isSafeInteger(n) || n < 1) throw new Problem(`rate value ${m[1]} must be a whole number >= 1`);
  if ((n === 1) !== !unit.endsWith('s')) {
    throw new Problem(`rate(${body}): the unit is singular for 1 and plural above (rate(1 hour), rate(5 hours))`);
  }
}

/**
 * Why `expression` is not a valid EventBridge schedule expression, or undefined when it is.
 *
 * @param expression e.g. `cron(0 2 * * ? *)` or `rate(6 hours)`
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const m = /^(cron|rate)\((.*)\)$/s.exec(expression);
  if (!m) return 'neither cron(...) nor rate(...)';
  try {
    if (m[1] === 'cron') checkCron(m[2] ?? '');
    else checkRate(m[2] ?? '');
    return undefined;
  } catch (err) {
    if (err instanceof Problem) return err.message;
    throw err;
  }
}
