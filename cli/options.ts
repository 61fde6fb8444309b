import { InvalidArgumentError } from 'commander';
import { isCalendarDate } from '../contracts/s3-layout';
import { runIdProblem } from '../contracts/states/names';
import { CliUsageError } from './errors';

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

/** A real calendar date `YYYY-MM-DD` (`2026-02-30` is refused, not rolled over to March). */
export function isoDate(name: string) {
  return (raw: string): string => {
    if (!isCalendarDate(raw)) {
      throw new InvalidArgumentError(`${name} must be a calendar date YYYY-MM-DD, got ${JSON.stringify(raw)}`);
    }
    return raw;
  };
}

/** A run id Step Functions accepts as an execution name and the pipeline as a key segment (contracts/states/names.ts). */
export function runIdOption(name: string) {
  return (raw: string): string => {
    const problem = runIdProblem(raw);
    if (problem) throw new InvalidArgumentError(`${name} ${problem}, got ${JSON.stringify(raw)}`);
    return raw;
  };
}

/** `--from` after `--to` selects nothing: refuse it before anything runs. */
export function checkDateRange(o: { readonly from?: string; readonly to?: string }): void {
  if (o.from && o.to && o.from > o.to) {
    throw new CliUsageError(`--from ${o.from} is after --to ${o.to}`);
  }
}
