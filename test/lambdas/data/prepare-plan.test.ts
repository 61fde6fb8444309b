import { ValidationError } from '../../../contracts/errors';
import { planPrepareTasks } from '../../../lambdas/data/prepare-plan';
import { entitySlice } from '../../../lambdas/data/validator';

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
    for (let i = 0; i < 4000; i++) counts[entitySlice(`C${i}`, 4)]! += 1;
    expect(entitySlice('C42', 4)).toBe(entitySlice('C42', 4));
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });
});
