import { fnv1a32, isValidationEntity, unitHash } from '../../../lambdas/data/split';

describe('hash split', () => {
  it('FNV-1a 32 matches the reference vectors (byte-wise over UTF-8)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // non-ASCII hashes its UTF-8 bytes: é = C3 A9
    let h = 0x811c9dc5;
    for (const b of Buffer.from('é€😀', 'utf8')) h = Math.imul(h ^ b, 0x01000193);
    expect(fnv1a32('é€😀')).toBe(h >>> 0);
  });

  it('is deterministic and close to the requested share', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `C${String(i).padStart(7, '0')}`);
    const a = ids.map((id) => isValidationEntity(id, 0.2));
    const b = ids.map((id) => isValidationEntity(id, 0.2));
    expect(a).toEqual(b);
    const share = a.filter(Boolean).length / ids.length;
    expect(share).toBeGreaterThan(0.19);
    expect(share).toBeLessThan(0.21);
    expect(ids.every((id) => unitHash(id) >= 0 && unitHash(id) < 1)).toBe(true);
  });

  it('a larger share only adds entities (monotone), 0 and 1 are the extremes', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `cust-${i}`);
    for (const id of ids) {
      if (isValidationEntity(id, 0.1)) expect(isValidationEntity(id, 0.3)).toBe(true);
      expect(isValidationEntity(id, 0)).toBe(false);
      expect(isValidationEntity(id, 1)).toBe(true);
    }
  });
});

describe('split of sequential ids', () => {
  it('puts about the configured share of the first 200 sequential ids into validation', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `C${String(i + 1).padStart(7, '0')}`);
    const inValidation = ids.filter((id) => isValidationEntity(id, 0.2)).length;
    expect(inValidation).toBeGreaterThan(20);
    expect(inValidation).toBeLessThan(60);
  });
});
