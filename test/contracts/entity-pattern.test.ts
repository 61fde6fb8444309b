import { entityPatternProblem } from '../../contracts/entity-pattern';
import { ENTITY_ID_PATTERN } from '../../contracts/score-layout';

describe('entityPatternProblem: a contract entity pattern must be no wider than the store ids', () => {
  test.each([
    ENTITY_ID_PATTERN.source,
    '^C\\d{6}$',
    '^[a-z]{1,10}$',
    '^[A-Za-z0-9]{1,64}$',
    '^(?:cust|acct)-[0-9]{1,20}$',
    '^a$|^b$',
    '^(?=C)\\w{3}$',
  ])('%s is accepted (every id it matches is a store id)', (pattern) => {
    expect(entityPatternProblem(pattern)).toBeUndefined();
  });

  test.each<[string, string]>([
    // The old default: anything up to 256 characters.
    ['^.{1,256}$', 'e.g. "'],
    // Unanchored: `test` matches inside a longer string.
    ['[a-z]+', 'accepts ids the score store, the loader and the read API refuse'],
    ['^C\\d{6}', 'accepts ids'],
    // One character too long, or a character the store keys do not allow.
    ['^[A-Za-z0-9]{1,65}$', 'accepts ids'],
    ['^\\w{1,64}$', 'e.g. "_"'],
    ['^[A-Za-z0-9 ]{1,64}$', 'accepts ids'],
  ])('%s is refused with an id it would let through (%s)', (pattern, reason) => {
    const problem = entityPatternProblem(pattern);
    expect(problem).toContain(reason);
    expect(problem).toContain(`expected a pattern within ${ENTITY_ID_PATTERN.source}`);
  });

  test('the example id really is one the pattern accepts and the store refuses', () => {
    const problem = entityPatternProblem('^[A-Za-z0-9]{1,65}$') ?? '';
    const example = JSON.parse(/e\.g\. ("[^"]*")/.exec(problem)?.[1] ?? '""') as string;
    expect(/^[A-Za-z0-9]{1,65}$/.test(example)).toBe(true);
    expect(ENTITY_ID_PATTERN.test(example)).toBe(false);
  });

  test('a pattern too large to decide is refused, not accepted', () => {
    expect(entityPatternProblem('^a{1,100000}$')).toContain('cannot be checked');
  });
});
