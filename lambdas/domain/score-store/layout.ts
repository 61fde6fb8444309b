/**
 * Where an entity's score lives in the bucket layout (see buckets.ts for the values).
 *
 * - Entities are spread over `groups × bucketsPerGroup` Redis hashes by a 32-bit FNV-1a hash of the id: group
 *   `h mod groups`, bucket `(h / groups) mod bucketsPerGroup`. Sized for ~32–64 entities per bucket so every bucket
 *   stays a listpack (Redis' compact hash encoding; `hash-max-listpack-entries` is 128 by default).
 * - Every key of a group carries the group's hash tag, so one script call over a group's buckets stays in one cluster
 *   slot. The tags are chosen so the groups' slots are evenly spaced over the 16 384 slots: with `groups` a multiple of
 *   the shard count each shard (contiguous, equal slot ranges, as ElastiCache assigns them) holds the same number.
 * - Keys: bucket `s{<tag>}<bucket base 36>`; the group's meta hash `m{<tag>}` holds the run stamps (once per run, not
 *   per entity) and copies of the fallback records, so a read gets all it needs from one slot.
 *
 * The layout parameters are a contract between the loader, the finalizer and the reader (contracts/score-layout.ts).
 */
import { type BucketLayout, hashId } from '../../../contracts/score-layout';

export {
  type BucketLayout,
  DEFAULT_LAYOUT,
  formatLayout,
  hashId,
  type KeyLayout,
  layoutFor,
  parseLayout,
  type ScoreLayout,
} from '../../../contracts/score-layout';

export const CLUSTER_SLOTS = 16_384;

/**
 * Redis Cluster's slot of a key without braces: CRC16 (XMODEM) mod 16 384. Hand-written (a dozen lines) instead of
 * a dependency; a test checks it against ioredis' own `cluster-key-slot`.
 */
export function keySlot(text: string): number {
  let crc = 0;
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % CLUSTER_SLOTS;
}

const tagCache = new Map<number, readonly string[]>();

/**
 * The hash tags of `groups` groups: tag `g` is the shortest base-36 string whose slot falls in the g-th of `groups`
 * equal slot ranges (deterministic, so every client computes the same tags).
 */
export function groupTags(groups: number): readonly string[] {
  const hit = tagCache.get(groups);
  if (hit) return hit;
  const tags = new Array<string>(groups);
  if (groups === 1) tags[0] = '0';
  else {
    let found = 0;
    for (let n = 0; found < groups; n++) {
      const t = n.toString(36);
      const g = Math.floor((keySlot(t) * groups) / CLUSTER_SLOTS);
      if (tags[g] === undefined) {
        tags[g] = t;
        found++;
      }
    }
  }
  tagCache.set(groups, tags);
  return tags;
}

export const bucketKey = (tag: string, bucket: number): string => `s{${tag}}${bucket.toString(36)}`;
export const metaKey = (tag: string): string => `m{${tag}}`;

/** Group index and bucket key of one entity. */
export function locate(layout: BucketLayout, id: string): { group: number; key: string } {
  const h = hashId(id);
  const group = h % layout.groups;
  const bucket = Math.floor(h / layout.groups) % layout.bucketsPerGroup;
  return { group, key: bucketKey(groupTags(layout.groups)[group]!, bucket) };
}
