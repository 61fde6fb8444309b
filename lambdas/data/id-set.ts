/**
 * A set of entity ids by 64-bit hash, in typed arrays (open addressing, linear probing), each with a 32-bit tag
 * (the line of its first occurrence, or the index of the file it came from).
 *
 * Why not a `Map<string, number>`: V8 caps a Map at 2^24 entries (`RangeError: Map maximum size exceeded`), and each
 * entry costs the id string plus ~50 bytes. Here a slot is 12 bytes (two 32-bit hash words + the tag) and the table
 * doubles at 3/4 full, so a set of n ids holds 16–32 bytes per id (≈ 400 MB at 2^24 ids, 16–32 MB at a million), and
 * there is no entry limit below 2^29 ids.
 *
 * The price is that two different ids with the same 64-bit hash look like one. For n ids in one set the chance that
 * any such pair exists is about n² / 2^65: 3·10^-8 at a million ids, 8·10^-6 at 2^24. A collision can only make a
 * row a false `duplicate_entity` (quarantined and reported, never silently lost).
 */
export class EntityIdSet {
  private hashes: Uint32Array;
  private tags: Uint32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.mask = cap - 1;
    this.hashes = new Uint32Array(cap * 2);
    this.tags = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
  }

  /** The tag stored for `id`, or undefined when it is new — in which case it is added with `tag`. */
  getOrAdd(id: string, tag: number): number | undefined {
    const [h1, h2] = hash64(id);
    return this.probe(h1, h2, tag);
  }

  /** Whether `id` is in the set (does not add it). */
  has(id: string): boolean {
    const [h1, h2] = hash64(id);
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask;
    while (this.used[i] === 1) {
      if (this.hashes[2 * i] === h1 && this.hashes[2 * i + 1] === h2) return true;
      i = (i + 1) & this.mask;
    }
    return false;
  }

  private probe(h1: number, h2: number, tag: number): number | undefined {
    let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & this.mask;
    const hashes = this.hashes;
    while (this.used[i] === 1) {
      if (hashes[2 * i] === h1 && hashes[2 * i + 1] === h2) return this.tags[i];
      i = (i + 1) & this.mask;
    }
    this.used[i] = 1;
    hashes[2 * i] = h1;
    hashes[2 * i + 1] = h2;
    this.tags[i] = tag >>> 0;
    this.size += 1;
    if (this.size * 4 > (this.mask + 1) * 3) this.grow();
    return undefined;
  }

  private grow(): void {
    const { hashes, tags, used } = this;
    const cap = (this.mask + 1) * 2;
    this.mask = cap - 1;
    this.hashes = new Uint32Array(cap * 2);
    this.tags = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
    this.size = 0;
    for (let i = 0; i < used.length; i++) {
      if (used[i] === 1) this.probe(hashes[2 * i] as number, hashes[2 * i + 1] as number, tags[i] as number);
    }
  }
}

/**
 * 64-bit string hash as two 32-bit words: two multiply–xorshift lanes over the UTF-16 code units, cross-mixed at the
 * end (the construction of the public-domain cyrb53, keeping all 64 bits).
 */
export function hash64(s: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}
