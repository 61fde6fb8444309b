import { IntegrityError, ValidationError } from '../../../contracts/errors';
import { allocateShards, dealRows, MAX_SHARDS, planShards, ShardedLineWriter } from '../../../lambdas/data/shards';

describe('planShards', () => {
  it.each([
    // trainRows, instanceCount, maxRowsPerShard → shards
    [10, 1, 1_000_000, 1],
    [10, 2, 1_000_000, 2],
    [2_500_000, 1, 1_000_000, 3],
    [2_500_000, 2, 1_000_000, 4],
    [2_000_000, 2, 1_000_000, 2],
    [2_000_001, 2, 1_000_000, 4],
    [7, 7, 1, 7],
  ])('%i rows, %i instance(s), at most %i per shard → %i shards', (rows, instances, max, shards) => {
    const plan = planShards(rows, instances, max);
    expect(plan.shards).toBe(shards);
    expect(plan.rows).toHaveLength(shards);
    expect(plan.shards % instances).toBe(0);
    expect(plan.rows.reduce((a, b) => a + b, 0)).toBe(rows);
    expect(Math.max(...plan.rows)).toBeLessThanOrEqual(max);
    expect(Math.max(...plan.rows) - Math.min(...plan.rows)).toBeLessThanOrEqual(1);
    expect(Math.min(...plan.rows)).toBeGreaterThan(0);
  });

  it('deals the remainder to the first shards', () => {
    expect(planShards(11, 4, 100).rows).toEqual([3, 3, 3, 2]);
  });

  it('refuses fewer rows than instances, empty shards, too many shards and bad arguments', () => {
    expect(() => planShards(3, 4, 100)).toThrow(ValidationError);
    expect(() => planShards(3, 4, 100)).toThrow(/3 training row\(s\) cannot be sharded over training.instanceCount 4/);
    expect(() => planShards(5, 4, 1)).toThrow(/would leave shards empty: raise training.maxRowsPerShard/);
    expect(() => planShards(MAX_SHARDS + 1, 1, 1)).toThrow(/more than 99999/);
    expect(() => planShards(10, 0, 5)).toThrow(/instanceCount must be a positive integer, got 0/);
    expect(() => planShards(10, 1, 1.5)).toThrow(/maxRowsPerShard must be a positive integer/);
    expect(() => planShards(-1, 1, 5)).toThrow(/trainRows must be a non-negative integer/);
  });
});

describe('ShardedLineWriter (S3 calls recorded)', () => {
  function recorder() {
    const puts: { key: string; body: string }[] = [];
    const s3 = {
      send: async (cmd: { input: { Key: string; Body?: Buffer | string } }) => {
        puts.push({ key: cmd.input.Key, body: String(cmd.input.Body) });
        return {};
      },
    };
    return { s3: s3 as never, puts };
  }

  it('fills shard after shard in order and returns their keys', async () => {
    const { s3, puts } = recorder();
    const w = new ShardedLineWriter(s3, 'b', (n) => `p/part-${n}.csv`, planShards(5, 2, 100));
    for (let i = 0; i < 5; i++) await w.write(`${i}\n`);
    expect(await w.close()).toEqual(['p/part-1.csv', 'p/part-2.csv']);
    expect(puts).toEqual([
      { key: 'p/part-1.csv', body: '0\n1\n2\n' },
      { key: 'p/part-2.csv', body: '3\n4\n' },
    ]);
  });

  it('refuses more or fewer lines than planned', async () => {
    const { s3 } = recorder();
    const over = new ShardedLineWriter(s3, 'b', (n) => `k${n}`, planShards(2, 1, 100));
    await over.write('a\n');
    await over.write('b\n');
    await expect(Promise.resolve().then(() => over.write('c\n'))).rejects.toThrow(IntegrityError);
    const under = new ShardedLineWriter(s3, 'b', (n) => `k${n}`, planShards(3, 1, 100));
    await under.write('a\n');
    await expect(under.close()).rejects.toThrow(/shard 1 of 1 holds 1 of its 3 rows at close/);
  });
});

describe('allocateShards (several tasks write the channel)', () => {
  it.each([
    // task train rows, instanceCount, maxRowsPerShard
    [[10, 20, 30], 1, 1_000_000],
    [[10, 20, 30], 4, 1_000_000],
    [[5, 0, 7, 1], 3, 1_000_000],
    [[2_500_000, 10, 999_999], 2, 1_000_000],
    [[1, 1, 1, 1, 1], 5, 1],
    [[300, 300, 300], 7, 100],
  ])(
    '%j over %i instance(s), at most %i rows a shard: a multiple of the instances, none empty or over',
    (rows, n, max) => {
      const shards = allocateShards(rows, n, max);
      const total = shards.reduce((a, b) => a + b, 0);
      expect(total % n).toBe(0);
      expect(total).toBeGreaterThanOrEqual(n);
      rows.forEach((r, i) => {
        expect(shards[i]!).toBeLessThanOrEqual(r);
        if (r === 0) expect(shards[i]).toBe(0);
        else expect(Math.max(...dealRows(r, shards[i]!).rows)).toBeLessThanOrEqual(max);
        if (r > 0) expect(Math.min(...dealRows(r, shards[i]!).rows)).toBeGreaterThan(0);
      });
    },
  );

  it('adds the extra shards to the task with the largest shards', () => {
    expect(allocateShards([100, 10, 10], 4, 1_000)).toEqual([2, 1, 1]);
    expect(allocateShards([100, 10], 4, 1_000)).toEqual([3, 1]);
  });

  it('refuses what cannot be split into non-empty shards', () => {
    expect(() => allocateShards([1, 0], 2, 1_000)).toThrow(ValidationError);
    expect(() => allocateShards([2, 1, 1], 3, 1)).toThrow(/raise training.maxRowsPerShard/);
  });
});
