/**
 * The score store's layout as configuration: which layout the loader, the finalizer and the reader use, derived from
 * `cache.shards` and `cache.expectedEntities` (lib/config.ts) and handed to them as `SCORE_LAYOUT`
 * (`buckets:<groups>:<bucketsPerGroup>`, or `keys` for one `score:<id>` key per entity), and to PlanPrepare, whose
 * slices of a big day own ranges of its buckets ({@link bucketRangeSlice}). Which bucket an entity goes to is
 * {@link hashId} here; keys and tags are lambdas/domain/score-store/layout.ts.
 */
export interface BucketLayout {
  readonly kind: 'buckets';
  readonly groups: number;
  readonly bucketsPerGroup: number;
}

/** One `score:<id>` string key per entity (the format before buckets; kept for reading during a migration). */
export interface KeyLayout {
  readonly kind: 'keys';
}

export type ScoreLayout = BucketLayout | KeyLayout;

/** Entities per bucket the sizing aims at (at `expectedEntities`). */
export const TARGET_PER_BUCKET = 64;
/** Hash-tag groups per shard in cluster mode (one group when the cache is not sharded). */
export const GROUPS_PER_SHARD = 16;
export const MAX_GROUPS = 4_096;

export const LAYOUT_PATTERN = /^(keys|buckets:([1-9]\d{0,3}):([1-9]\d{0,7}))$/;

/** The bucket layout for a cache of `shards` shards expected to hold `expectedEntities`. */
export function layoutFor(shards: number, expectedEntities: number): BucketLayout {
  if (!Number.isInteger(shards) || shards < 1 || shards > 500)
    throw new RangeError(`shards must be 1..500, got ${shards}`);
  if (!Number.isInteger(expectedEntities) || expectedEntities < 1) {
    throw new RangeError(`expectedEntities must be a positive integer, got ${expectedEntities}`);
  }
  const groups = shards === 1 ? 1 : Math.min(MAX_GROUPS, shards * GROUPS_PER_SHARD);
  const perGroup = Math.max(1, Math.ceil(expectedEntities / TARGET_PER_BUCKET / groups));
  return { kind: 'buckets', groups, bucketsPerGroup: 2 ** Math.ceil(Math.log2(perGroup)) };
}

export const formatLayout = (l: ScoreLayout): string =>
  l.kind === 'keys' ? 'keys' : `buckets:${l.groups}:${l.bucketsPerGroup}`;

/** Layout used when `SCORE_LAYOUT` is not set (tests, local runs): the serving stack's default config. */
export const DEFAULT_LAYOUT: BucketLayout = layoutFor(1, 5_000_000);

/** @throws TypeError naming the value when it is not a layout */
export function parseLayout(text: string | undefined): ScoreLayout {
  if (text === undefined || text === '') return DEFAULT_LAYOUT;
  const m = LAYOUT_PATTERN.exec(text);
  if (!m) throw new TypeError(`SCORE_LAYOUT "${text}" is not "keys" or "buckets:<groups>:<bucketsPerGroup>"`);
  if (m[1] === 'keys') return { kind: 'keys' };
  const groups = Number(m[2]);
  if (groups > MAX_GROUPS) throw new TypeError(`SCORE_LAYOUT "${text}": at most ${MAX_GROUPS} groups`);
  return { kind: 'buckets', groups, bucketsPerGroup: Number(m[3]) };
}

/**
 * Entity ids the score store, the loader and the read API accept: the shipped feature contract's `entity.pattern`
 * (a test keeps the two equal). A contract's pattern must accept no id outside this one (`cdk synth` checks it,
 * contracts/entity-pattern.ts), because ids travel unquoted through the transform output and into Redis keys.
 */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Human description of {@link ENTITY_ID_PATTERN} for error messages. */
export const ENTITY_ID_RULE = '1-64 characters of A-Z a-z 0-9 _ . : - starting with a letter or digit';
/** Segment values (category values of the segment feature, `cache.segmentFeature`). */
export const SEGMENT_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** FNV-1a, 32 bit, over the id's UTF-16 code units (ids are ASCII by ENTITY_ID_PATTERN, so the same as over bytes). */
export function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The slice (0-based, of `count`) that owns an entity id: slice i owns the i-th of `count` equal, contiguous ranges of
 * the buckets in bucket-major order (`bucket × groups + group`, with group `h mod groups` and bucket
 * `(h / groups) mod bucketsPerGroup` of {@link hashId}), so the rows of one slice fall in 1/count of the buckets and
 * the loader writes several rows per bucket where random rows would put less than one in each. Bucket-major, so a
 * slice holds the same buckets of every group, i.e. of every shard in cluster mode. For the `keys` layout: the i-th
 * range of the hash itself.
 */
export function bucketRangeSlice(layout: ScoreLayout, id: string, count: number): number {
  const h = hashId(id);
  if (layout.kind === 'keys') return Math.floor((h * count) / 2 ** 32);
  const { groups, bucketsPerGroup } = layout;
  const rank = (Math.floor(h / groups) % bucketsPerGroup) * groups + (h % groups);
  return Math.floor((rank * count) / (groups * bucketsPerGroup));
}
