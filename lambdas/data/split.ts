/**
 * Deterministic train/validation split by a stable hash of the entity id (FNV-1a, 32 bit, over the UTF-8 bytes, then
 * murmur3's fmix32 finalizer).
 * The same entity always lands on the same side, across runs, files and snapshot dates, so no customer is in both
 * sets (no leakage between snapshots) and a rerun produces the same split.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a 32-bit hash of the UTF-8 encoding of `s`, as an unsigned integer. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    // Non-ASCII: hash the UTF-8 bytes (so the value matches a byte-wise FNV-1a in any language).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i += 1;
      }
    }
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME);
  }
  return h >>> 0;
}

/**
 * murmur3's 32-bit finalizer: FNV-1a alone barely changes its high bits when only the last character changes, so
 * sequential ids (`C000001`, `C000002`, …) would cluster on one side of the split; mixing spreads them uniformly.
 */
export function fmix32(h: number): number {
  let x = h >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The mixed hash mapped to [0, 1). */
export function unitHash(entityId: string): number {
  return fmix32(fnv1a32(entityId)) / 0x1_0000_0000;
}

/** True when the entity belongs to the validation set for a validation share in [0, 1]. */
export function isValidationEntity(entityId: string, validationShare: number): boolean {
  return unitHash(entityId) < validationShare;
}
