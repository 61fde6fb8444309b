import type { FeatureSpec } from './contract';
import type { RowRule } from './validation-report';

/**
 * Value syntax of feature CSVs. Strict (no trimming; the caller treats an empty field as null before asking):
 * integers `-?[0-9]+`; numbers decimal or exponent notation, finite; booleans `true` / `false`; dates `YYYY-MM-DD`
 * (a real calendar date); label `0` / `1`.
 */

export const INT_RE = /^[+-]?\d+$/;
export const NUM_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True when `s` is a real calendar date `YYYY-MM-DD`. */
export function isIsoDate(s: string): boolean {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

/** Receives one problem with a value (column, rule, the raw value, message). */
export type ValueProblem = (column: string, rule: RowRule, value: string, message: string) => void;

/**
 * The typed value of a non-empty field of feature `f` (number for numeric and boolean (0/1), string for category),
 * or null after reporting why it is not one. `categories` is the feature's category set (category features only).
 */
export function parseFeatureValue(
  f: FeatureSpec,
  raw: string,
  categories: ReadonlySet<string> | undefined,
  add: ValueProblem,
): number | string | null {
  switch (f.type) {
    case 'integer':
    case 'number': {
      if (!(f.type === 'integer' ? INT_RE : NUM_RE).test(raw)) {
        add(f.name, 'wrong_type', raw, f.type === 'integer' ? 'not an integer' : 'not a number');
        return null;
      }
      const n = Number(raw);
      if (!Number.isFinite(n)) {
        add(f.name, 'wrong_type', raw, 'not a finite number');
        return null;
      }
      if (n < f.min || n > f.max) {
        add(f.name, 'out_of_range', raw, `outside [${f.min}, ${f.max}]`);
        return null;
      }
      return n;
    }
    case 'boolean':
      if (raw === 'true') return 1;
      if (raw === 'false') return 0;
      add(f.name, 'wrong_type', raw, 'not a boolean (true or false)');
      return null;
    case 'category':
      if (categories?.has(raw)) return raw;
      add(f.name, 'unknown_category', raw, `not one of ${f.categories.join('|')}`);
      return null;
  }
}
