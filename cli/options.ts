import { InvalidArgumentError } from 'commander';

/** Parsers of option values (commander turns their InvalidArgumentError into a usage error, exit code 2). */

export function positiveInt(name: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${raw}"`);
    }
    return n;
  };
}

export function isoDate(name: string) {
  return (raw: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`))) {
      throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got "${raw}"`);
    }
    return raw;
  };
}
