import { groupTasks } from '../../../lambdas/data/training-profile';
import { mergeViolationLogs, type Violation, ViolationLog } from '../../../lambdas/data/validation-report';

describe('groupTasks', () => {
  it('groups consecutive objects up to the byte budget; a bigger object is a task of its own', () => {
    const tasks = groupTasks(['a', 'b', 'c', 'd', 'e'], [40, 50, 200, 10, 10], 100);
    expect(tasks.map((t) => [t.task, t.keys, t.bytes])).toEqual([
      [1, ['a', 'b'], 90],
      [2, ['c'], 200],
      [3, ['d', 'e'], 20],
    ]);
    expect(groupTasks([], [], 100)).toEqual([]);
  });
});

const v = (file: string, line: number, rule: Violation['rule'] = 'wrong_type'): Violation => ({
  file,
  line,
  column: 'x',
  rule,
  value: null,
  message: `${file}:${line}`,
});

describe('mergeViolationLogs', () => {
  it('is the log one pass over all files keeps: counts summed, the first N in (file, line) order', () => {
    const violations = [v('a', 2), v('a', 5, 'out_of_range'), v('b', 1), v('b', 3), v('c', 2), v('c', 2, 'ragged_row')];
    const one = new ViolationLog(3);
    for (const x of violations) one.add(x);
    const parts = [violations.slice(4), violations.slice(0, 2), violations.slice(2, 4)].map((xs) => {
      const log = new ViolationLog(3);
      for (const x of xs) log.add(x);
      return log;
    });
    const merged = mergeViolationLogs(parts, 3);
    expect(merged.listed).toEqual(one.listed);
    expect(merged.countsByRule).toEqual(one.countsByRule);
    expect(merged.notListed).toBe(one.notListed);
    // Violations of one line keep their order.
    expect(
      mergeViolationLogs(parts, 10)
        .listed.slice(-2)
        .map((x) => x.rule),
    ).toEqual(['wrong_type', 'ragged_row']);
  });
});
