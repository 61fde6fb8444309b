import {
  BUFFER_MEMORY_SHARE,
  bufferBudget,
  loaderBuffer,
  ROW_INDEX_BYTES,
} from '../../../../lambdas/functions/load-scores/buffer';

describe('loader buffer', () => {
  it('is half the function memory, 1 024 MB when the platform does not say', () => {
    expect(bufferBudget()).toBe(512 * 1024 ** 2);
    expect(bufferBudget(2_048)).toBe(2_048 * 1024 ** 2 * BUFFER_MEMORY_SHARE);
    expect(() => bufferBudget(0)).toThrow('memory must be a positive number of MB, got 0');
  });

  it('holds the whole part (one row more: it never fills) when 16 B a row plus the file fit the budget', () => {
    // 1 M rows of ~30 bytes: 46 MB
    expect(loaderBuffer(1_000_000, 30_000_000, bufferBudget())).toEqual({ rows: 1_000_001, bytes: 30_000_000 });
    const exact = ROW_INDEX_BYTES * 1_000 + 40_000;
    expect(loaderBuffer(1_000, 40_000, exact)).toEqual({ rows: 1_001, bytes: 40_000 });
    // an unknown length assumes 40 bytes a row; an empty part still gets a (tiny) buffer
    expect(loaderBuffer(1_000, undefined, 1e9)).toEqual({ rows: 1_001, bytes: 40_000 });
    expect(loaderBuffer(0, 0, 1e9)).toEqual({ rows: 1, bytes: 64 });
  });

  it('holds as many rows of the average length as fit when the part does not', () => {
    const b = loaderBuffer(1_000, 40_000, ROW_INDEX_BYTES * 1_000 + 40_000 - 1);
    expect(b).toEqual({ rows: 999, bytes: 39_960 });
    expect(ROW_INDEX_BYTES * b.rows + b.bytes).toBeLessThanOrEqual(ROW_INDEX_BYTES * 1_000 + 40_000 - 1);
    // 20 M rows of 90 bytes in 512 MB: ~5.1 M rows a buffer
    const big = loaderBuffer(20_000_000, 1_800_000_000, bufferBudget());
    expect(big.rows).toBe(Math.floor((512 * 1024 ** 2) / (16 + 90)));
    expect(() => loaderBuffer(-1, 0, 1)).toThrow('rows must be a non-negative integer, got -1');
    expect(() => loaderBuffer(1, 0, 0)).toThrow('the buffer budget must be positive, got 0');
  });
});
