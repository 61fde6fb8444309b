import { ValidationError } from '../../../contracts/errors';
import { bucketRangeSlice, DEFAULT_LAYOUT, hashId, parseLayout } from '../../../contracts/score-layout';
import { planPrepareTasks } from '../../../lambdas/data/prepare-plan';
import { entitySlice } from '../../../lambdas/data/validator';
import { bucketKey, groupTags, locate } from '../../../lambdas/domain/score-store/layout';

const obj = (key: string, size: number) => ({ key, etag: `"${key}"`, size });
const MB = 1024 ** 2;

describe('planPrepareTasks', () => {
  it('packs whole small days into one task up to the byte budget, in key order', () => {
    const tasks = planPrepareTasks(
      [
        obj('inference/dt=2026-11-02/b.csv', 30 * MB),
        obj('inference/dt=2026-11-01/a.csv', 20 * MB),
        obj('inference/dt=2026-11-01/c.csv', 20 * MB),
        obj('inference/dt=2026-11-03/a.csv', 50 * MB),
      ],
      100 * MB,
    );
    expect(tasks.map((t) => [t.task, t.objects.map((o) => o.key), t.slice, t.slices, t.bytes])).toEqual([
      [
        0,
        ['inference/dt=2026-11-01/a.csv', 'inference/dt=2026-11-01/c.csv', 'inference/dt=2026-11-02/b.csv'],
        0,
        1,
        70 * MB,
      ],
      [1, ['inference/dt=2026-11-03/a.csv'], 0, 1, 50 * MB],
    ]);
  });

  it('never splits a day that fits: a day that does not fit the open task starts a new one', () => {
    const tasks = planPrepareTasks(
      [
        obj('inference/dt=2026-11-01/a.csv', 60 * MB),
        obj('inference/dt=2026-11-02/a.csv', 30 * MB),
        obj('inference/dt=2026-11-02/b.csv', 30 * MB),
      ],
      100 * MB,
    );
    expect(tasks.map((t) => t.objects.length)).toEqual([1, 2]);
    expect(tasks.every((t) => t.slices === 1)).toBe(true);
  });

  it('splits a day over the budget into ⌈bytes / budget⌉ slices, each reading every object of the day', () => {
    const day = [obj('inference/dt=2026-11-01/a.csv', 150 * MB), obj('inference/dt=2026-11-01/b.csv', 100 * MB)];
    const tasks = planPrepareTasks([...day, obj('inference/dt=2026-11-02/a.csv', 10 * MB)], 100 * MB);
    const sliced = tasks.filter((t) => t.slices > 1);
    expect(sliced.map((t) => t.slice)).toEqual([0, 1, 2]);
    for (const t of sliced) {
      expect(t.slices).toBe(3);
      expect(t.bytes).toBe(250 * MB);
      expect(t.objects.map((o) => o.key)).toEqual(day.map((o) => o.key));
    }
    expect(tasks.map((t) => t.task)).toEqual([0, 1, 2, 3]);
    expect(tasks[3]).toMatchObject({ slices: 1, objects: [{ key: 'inference/dt=2026-11-02/a.csv' }] });
  });

  it('puts objects without a dt= partition in one task of their own (they are never read)', () => {
    const tasks = planPrepareTasks(
      [
        obj('inference/x.csv', 10 * MB),
        obj('inference/dt=2026-11-01/a.csv', 10 * MB),
        obj('inference/y/z.csv', 999 * MB),
      ],
      100 * MB,
    );
    expect(tasks).toHaveLength(2);
    expect(tasks[1]).toMatchObject({ slice: 0, slices: 1, bytes: 0 });
    expect(tasks[1]!.objects.map((o) => o.key)).toEqual(['inference/x.csv', 'inference/y/z.csv']);
  });

  it('a budget of one byte slices every non-empty day; zero-byte days still get one task', () => {
    const tasks = planPrepareTasks(
      [obj('inference/dt=2026-11-01/a.csv', 3), obj('inference/dt=2026-11-02/a.csv', 0)],
      1,
    );
    expect(tasks.map((t) => [t.slice, t.slices])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [0, 1],
    ]);
  });

  it('refuses no objects, a duplicate key and a non-positive budget', () => {
    expect(() => planPrepareTasks([], 1)).toThrow(ValidationError);
    expect(() =>
      planPrepareTasks([obj('inference/dt=2026-11-01/a.csv', 1), obj('inference/dt=2026-11-01/a.csv', 1)], 10),
    ).toThrow(/listed twice/);
    expect(() => planPrepareTasks([obj('inference/dt=2026-11-01/a.csv', 1)], 0)).toThrow(/positive/);
  });
});

describe('entitySlice', () => {
  it('is deterministic and spreads ids over the slices', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[entitySlice(`C${i}`, 4, DEFAULT_LAYOUT)]! += 1;
    expect(entitySlice('C42', 4, DEFAULT_LAYOUT)).toBe(entitySlice('C42', 4, DEFAULT_LAYOUT));
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});

describe('bucketRangeSlice', () => {
  const list = Array.from({ length: 20_000 }, (_, i) => `C${String(i).padStart(9, '0')}`);

  it('gives slice i the i-th contiguous range of the buckets, bucket-major: the same buckets of every group', () => {
    const layout = { kind: 'buckets', groups: 4, bucketsPerGroup: 16 } as const;
    const tags = groupTags(4);
    const owned = [new Set<string>(), new Set<string>(), new Set<string>(), new Set<string>()];
    for (const id of list.slice(0, 3_000)) {
      const slice = bucketRangeSlice(layout, id, 4);
      const { group, key } = locate(layout, id);
      const bucket = Number.parseInt(key.slice(key.indexOf('}') + 1), 36);
      // The loader's bucket (layout.ts) in slice ⌊(bucket × groups + group) × 4 / 64⌋: buckets 4i..4i+3 of each group.
      expect(slice).toBe(Math.floor(bucket / 4));
      expect(key).toBe(bucketKey(tags[group]!, bucket));
      owned[slice]!.add(key);
    }
    for (let i = 0; i < 4; i++) {
      const want = [0, 1, 2, 3].flatMap((g) => [0, 1, 2, 3].map((b) => bucketKey(tags[g]!, 4 * i + b)));
      expect([...owned[i]!].sort()).toEqual(want.sort());
    }
  });

  it('puts a slice of N in 1/N of the buckets (dense parts), spreads ids evenly, and ranges the hash for keys', () => {
    const layout = { kind: 'buckets', groups: 1, bucketsPerGroup: 1024 } as const;
    const mine = list.filter((id) => bucketRangeSlice(layout, id, 8) === 0);
    expect(new Set(mine.map((id) => locate(layout, id).key)).size).toBeLessThanOrEqual(128);
    expect(mine.length).toBeGreaterThan(2_000);
    expect(mine.length).toBeLessThan(3_000);
    const keys = [0, 0, 0];
    for (const id of list) keys[bucketRangeSlice({ kind: 'keys' }, id, 3)]! += 1;
    for (const n of keys) expect(n).toBeGreaterThan(6_000);
    expect(bucketRangeSlice({ kind: 'keys' }, 'C42', 3)).toBe(Math.floor((hashId('C42') * 3) / 2 ** 32));
    // More slices than buckets: still a partition, every slice within range.
    const tiny = { kind: 'buckets', groups: 1, bucketsPerGroup: 2 } as const;
    for (const id of list.slice(0, 100)) expect(bucketRangeSlice(tiny, id, 5)).toBeLessThan(5);
  });

  it('is recorded by the plan in the tasks of a sliced day', () => {
    const layout = parseLayout('buckets:48:32768');
    const tasks = planPrepareTasks(
      [obj('inference/dt=2026-11-01/a.csv', 30 * MB), obj('inference/dt=2026-11-02/a.csv', 5 * MB)],
      10 * MB,
      layout,
    );
    expect(tasks.map((t) => [t.slices, t.layout])).toEqual([
      [3, 'buckets:48:32768'],
      [3, 'buckets:48:32768'],
      [3, 'buckets:48:32768'],
      [1, undefined],
    ]);
    expect(planPrepareTasks([obj('inference/dt=2026-11-01/a.csv', 30 * MB)], 10 * MB)[0]!.layout).toBe(
      'buckets:1:131072',
    );
  });
});
