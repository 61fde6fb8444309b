/**
 * Generated input for the benchmarks (written to files, never timed):
 * - transform result rows `<entity_id>,<segment>,<score>` (the transform's DataProcessing output),
 * - the same rows as a RESP stream of `SET score:<id> <value> EX <ttl>` for `redis-cli --pipe`,
 * - an inference feature file (config/feature-contract.json) for the validator.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { SCORE_KEY_PREFIX, type Stamp, valuePrefix } from '../lambdas/domain/score-store/format';
import { prng } from '../local/demo/sample-data';

const SEGMENTS = ['basic', 'standard', 'premium'] as const;

/** Entity id of row `i` (0-based): `C` + 9 digits, the shape of the sample data's ids. */
export const entityId = (i: number): string => `C${String(i + 1).padStart(9, '0')}`;

/** Write `lines` produced by `make(i)` to `file` in ~256 KB chunks, honouring backpressure. Returns bytes written. */
async function writeLines(file: string, count: number, make: (i: number) => string, header?: string): Promise<number> {
  const out = createWriteStream(file);
  let buf = header === undefined ? '' : `${header}\n`;
  for (let i = 0; i < count; i++) {
    buf += `${make(i)}\n`;
    if (buf.length >= 256 * 1024) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return statSync(file).size;
}

/**
 * `rows` deterministic result rows (seeded): id (`id(i)`, by default {@link entityId}), segment
 * (basic|standard|premium), score with 6 decimals in 0..1.
 */
export function writeResultRows(
  file: string,
  rows: number,
  seed = 7,
  id: (i: number) => string = entityId,
): Promise<number> {
  const rnd = prng(seed, 'bench-result-rows');
  return writeLines(file, rows, (i) => {
    const seg = SEGMENTS[Math.floor(rnd() * 3)] ?? 'basic';
    return `${id(i)},${seg},${rnd().toFixed(6)}`;
  });
}

/** RESP encoding of one command (an array of bulk strings); lengths are byte lengths. */
export function respCommand(args: readonly string[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a, 'utf8')}\r\n${a}\r\n`;
  return s;
}

/**
 * The baseline's command for one result row: `SET score:<id> <value> EX <ttl>` with the exact value the loader writes
 * (`1|asOf|runId|modelVersion|<score text>`), so both sides move the same bytes into Redis.
 */
export function respSetForRow(line: string, stamp: Stamp, ttlSeconds: number): string {
  const c1 = line.indexOf(',');
  const c2 = line.indexOf(',', c1 + 1);
  if (c1 < 0 || c2 < 0) throw new Error(`not a result row: ${JSON.stringify(line)}`);
  const id = line.slice(0, c1);
  const score = line.slice(c2 + 1);
  return respCommand(['SET', SCORE_KEY_PREFIX + id, valuePrefix(stamp) + score, 'EX', String(ttlSeconds)]);
}

/** Convert a result-rows file into a RESP file for `redis-cli --pipe`. Returns the number of commands. */
export async function writeRespFromRows(
  rowsFile: string,
  respFile: string,
  stamp: Stamp,
  ttlSeconds: number,
): Promise<number> {
  const out = createWriteStream(respFile);
  const rl = createInterface({ input: createReadStream(rowsFile), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  let buf = '';
  for await (const line of rl) {
    if (line.length === 0) continue;
    buf += respSetForRow(line, stamp, ttlSeconds);
    n++;
    if (buf.length >= 256 * 1024) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
  return n;
}

const FEATURE_HEADER =
  'customer_id,as_of,tenure_months,monthly_charges,total_charges,support_tickets_90d,logins_30d,has_autopay,plan,region';
const REGIONS = ['north', 'south', 'east', 'west', ''] as const;

/**
 * An inference feature file of `rows` valid rows for config/feature-contract.json (every value in range; `total_charges` and `region`
 * sometimes empty, which the contract allows).
 */
export function writeFeatureFile(file: string, rows: number, asOf: string, seed = 11): Promise<number> {
  const rnd = prng(seed, 'bench-features');
  return writeLines(
    file,
    rows,
    (i) => {
      const tenure = Math.floor(rnd() * 72);
      const monthly = 20 + rnd() * 100;
      const total = rnd() < 0.02 ? '' : (monthly * tenure).toFixed(2);
      const tickets = Math.floor(rnd() * 8);
      const logins = Math.floor(rnd() * 60);
      const autopay = rnd() < 0.5 ? 'true' : 'false';
      const plan = SEGMENTS[Math.floor(rnd() * 3)] ?? 'basic';
      const region = REGIONS[Math.floor(rnd() * 5)] ?? '';
      return `${entityId(i)},${asOf},${tenure},${monthly.toFixed(2)},${total},${tickets},${logins},${autopay},${plan},${region}`;
    },
    FEATURE_HEADER,
  );
}
