/**
 * Score store format: key names, value encoding and decoding, and the patterns every field must match. The Redis
 * implementation (redis.ts) and the CLI depend on it; the stored bytes are a contract with the running cache.
 *
 * Keys
 * - `score:<entityId>`            one value per entity, TTL `SCORE_TTL_SECONDS`
 * - `fallback:global`             mean score of the newest run (no TTL)
 * - `fallback:segment:<value>`    mean score of the newest run per segment value (no TTL)
 * - `meta:latest`                 newest loaded run, for freshness (no TTL)
 *
 * Value format (compact, one string, `|`-separated; fields never contain `|`):
 *
 *   `1|<asOf>|<runId>|<modelVersion>|<payload>`
 *
 * - `1` is the format version;
 * - `asOf` is `YYYY-MM-DD`, `runId` and `modelVersion` match {@link STAMP_TOKEN};
 * - payload: score records → `<score>` (the decimal text from the transform output, unchanged);
 *   fallback records → `<score>|<count>`; `meta:latest` → `<loadedAt ISO>|<rows>`.
 *
 * Conditional write: a record is replaced only when the stored `(asOf, runId)` is older than the new one (or the key is
 * absent / not in this format). Equal `(asOf, runId)` — the same run loading the same rows again — rewrites the same
 * value and refreshes the TTL, so a rerun yields identical values and identical counts. Ordering: `asOf` first, then
 * `runId` byte-wise, so run ids must sort by start time (e.g. `batch-20261126T020000Z-…`) for a same-day rescore to win.
 */

export const SCORE_KEY_PREFIX = 'score:';
export const FALLBACK_GLOBAL_KEY = 'fallback:global';
export const FALLBACK_SEGMENT_PREFIX = 'fallback:segment:';
export const META_LATEST_KEY = 'meta:latest';
export const VALUE_FORMAT_VERSION = '1';

// Entity ids and segment values the store, the loader and the read API accept: one home in contracts/ so `cdk synth`
// can refuse a feature contract whose entity pattern is wider (contracts/entity-pattern.ts).
export { ENTITY_ID_PATTERN, ENTITY_ID_RULE, SEGMENT_PATTERN } from '../../../contracts/score-layout';
/** runId / modelVersion tokens (a Step Functions execution name qualifies): no `|`, no whitespace, ≤ 128 chars. */
export const STAMP_TOKEN = /^[^|\s]{1,128}$/;
export const AS_OF_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export const scoreKey = (entityId: string): string => SCORE_KEY_PREFIX + entityId;
export const fallbackSegmentKey = (segment: string): string => FALLBACK_SEGMENT_PREFIX + segment;

/** Which run a record came from. */
export interface Stamp {
  readonly asOf: string;
  readonly runId: string;
  readonly modelVersion: string;
}

export interface StoredScore extends Stamp {
  readonly score: number;
}

export interface FallbackRecord extends StoredScore {
  /** Rows of the run the mean was computed over. */
  readonly count: number;
}

export interface MetaLatest extends Stamp {
  readonly loadedAt: string;
  readonly rows: number;
}

/** Check a stamp before it goes into a value (the Lua script trusts it). */
export function assertStamp(stamp: Stamp): void {
  if (!AS_OF_PATTERN.test(stamp.asOf)) throw new TypeError(`asOf "${stamp.asOf}" is not a YYYY-MM-DD date`);
  if (!STAMP_TOKEN.test(stamp.runId)) throw new TypeError(`runId "${stamp.runId}" must match ${STAMP_TOKEN}`);
  if (!STAMP_TOKEN.test(stamp.modelVersion)) {
    throw new TypeError(`modelVersion "${stamp.modelVersion}" must match ${STAMP_TOKEN}`);
  }
}

/** `1|asOf|runId|modelVersion|` — the common prefix of every value written for this stamp. */
export const valuePrefix = (s: Stamp): string => `${VALUE_FORMAT_VERSION}|${s.asOf}|${s.runId}|${s.modelVersion}|`;

/** Payload of a fallback record: the mean score (6 decimals) and the row count. */
export const fallbackPayload = (agg: { readonly count: number; readonly sum: number }): string =>
  `${formatScore(agg.sum / agg.count)}|${agg.count}`;

/** Payload of `meta:latest`: when the run was loaded and how many rows. */
export const metaPayload = (loadedAt: string, rows: number): string => `${loadedAt}|${rows}`;

/** Format a mean for a fallback payload: fixed 6 decimals is ample for a probability and keeps values short. */
export const formatScore = (x: number): string => x.toFixed(6);

// ---------------------------------------------------------------------------------------------------------------------
// Decoding (allocation-light: indexOf/slice, no split, no regex)

/**
 * Split a value into its stamp and the payload text, or `undefined` when it is not in format 1.
 * Exported for the CLI and tests.
 */
export function decodeStamp(value: string): { stamp: Stamp; payload: string } | undefined {
  if (value.charCodeAt(0) !== 49 /* '1' */ || value.charCodeAt(1) !== 124 /* '|' */) return undefined;
  const a = value.indexOf('|', 2);
  if (a < 0) return undefined;
  const r = value.indexOf('|', a + 1);
  if (r < 0) return undefined;
  const m = value.indexOf('|', r + 1);
  if (m < 0) return undefined;
  return {
    stamp: { asOf: value.slice(2, a), runId: value.slice(a + 1, r), modelVersion: value.slice(r + 1, m) },
    payload: value.slice(m + 1),
  };
}

/** Decode a `score:<id>` value; `undefined` for a value not in format 1 or with a non-numeric score. */
export function decodeScore(value: string): StoredScore | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  const score = Number(bar < 0 ? d.payload : d.payload.slice(0, bar));
  if (d.payload.length === 0 || !Number.isFinite(score)) return undefined;
  return { asOf: d.stamp.asOf, runId: d.stamp.runId, modelVersion: d.stamp.modelVersion, score };
}

/** Decode a fallback record (`…|<score>|<count>`). */
export function decodeFallback(value: string): FallbackRecord | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  if (bar < 0) return undefined;
  const score = Number(d.payload.slice(0, bar));
  const count = Number(d.payload.slice(bar + 1));
  if (!Number.isFinite(score) || !Number.isInteger(count)) return undefined;
  return { ...d.stamp, score, count };
}

/** Decode `meta:latest` (`…|<loadedAt>|<rows>`). */
export function decodeMeta(value: string): MetaLatest | undefined {
  const d = decodeStamp(value);
  if (d === undefined) return undefined;
  const bar = d.payload.indexOf('|');
  if (bar < 0) return undefined;
  const rows = Number(d.payload.slice(bar + 1));
  if (!Number.isInteger(rows)) return undefined;
  return { ...d.stamp, loadedAt: d.payload.slice(0, bar), rows };
}
