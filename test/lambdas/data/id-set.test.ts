import { EntityIdSet, hash64 } from '../../../lambdas/data/id-set';

describe('EntityIdSet', () => {
  it('keeps the first tag of each id across growth, and finds no false duplicate among a million distinct ids', () => {
    const set = new EntityIdSet(16);
    const n = 1_000_000;
    let dupes = 0;
    for (let i = 0; i < n; i++) if (set.getOrAdd(`C${String(i).padStart(9, '0')}`, i + 2) !== undefined) dupes += 1;
    expect(dupes).toBe(0);
    expect(set.size).toBe(n);
    expect(set.getOrAdd('C000000000', 99)).toBe(2);
    expect(set.getOrAdd(`C${String(n - 1).padStart(9, '0')}`, 99)).toBe(n + 1);
    expect(set.has('C999999999')).toBe(false);
  });

  it('holds more ids than a Map may (2^24), in typed arrays', () => {
    // A Map throws "RangeError: Map maximum size exceeded" at 2^24 entries; the set does not.
    const set = new EntityIdSet(1 << 25);
    const n = (1 << 24) + 10;
    for (let i = 0; i < n; i++) set.getOrAdd(String(i), 1);
    expect(set.size).toBe(n);
    expect(set.getOrAdd('16777225', 2)).toBe(1);
  });

  it('hashes to 64 bits that differ for close strings', () => {
    const [a1, a2] = hash64('C0000001');
    const [b1, b2] = hash64('C0000002');
    expect(a1).not.toBe(b1);
    expect(a2).not.toBe(b2);
    expect(hash64('C0000001')).toEqual([a1, a2]);
  });
});
