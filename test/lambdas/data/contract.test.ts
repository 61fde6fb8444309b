import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../../contracts/errors';
import {
  contractColumns,
  type FeatureContract,
  featureByName,
  formatJsonPath,
  loadContract,
  loadDefaultContract,
} from '../../../lambdas/data/contract';

const file = join(__dirname, '../../../config/feature-contract.json');
const good = () =>
  JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { features: Record<string, unknown>[] };

function problemsOf(raw: unknown): { path: string; message: string }[] {
  try {
    loadContract(raw, 'test/contract.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as Error).message).toContain('test/contract.json');
    return ((e as ValidationError).details as { problems: { path: string; message: string }[] }).problems;
  }
  throw new Error('expected the contract to be rejected');
}

describe('feature contract', () => {
  it('the repository contract (config/feature-contract.json) is valid and has the expected columns', () => {
    const c = loadDefaultContract();
    expect(c.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(c.entity.name).toBe('customer_id');
    expect(c.asOf.name).toBe('as_of');
    expect(c.label.name).toBe('churned');
    expect(c.features.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['tenure_months', 'integer', false],
      ['monthly_charges', 'number', false],
      ['total_charges', 'number', true],
      ['support_tickets_90d', 'integer', false],
      ['logins_30d', 'integer', false],
      ['has_autopay', 'boolean', false],
      ['plan', 'category', false],
      ['region', 'category', true],
    ]);
    expect(featureByName(c, 'plan')).toMatchObject({ categories: ['basic', 'standard', 'premium'] });
    expect(featureByName(c, 'total_charges')).toMatchObject({ min: 0, max: 1e6 });
    expect(contractColumns(c, 'training').slice(0, 3)).toEqual(['customer_id', 'as_of', 'churned']);
    expect(contractColumns(c, 'inference')).not.toContain('churned');
    expect(() => featureByName(c, 'nope')).toThrow(/"nope" is not in feature contract customer-churn/);
  });

  it('accepts JSON text and reports invalid JSON naming the source', () => {
    expect(loadContract(readFileSync(file, 'utf8'), file).name).toBe('customer-churn');
    expect(problemsOf('{ nope')[0]).toMatchObject({ path: '$', message: expect.stringContaining('not valid JSON') });
  });

  it('reports schema errors with their JSON path', () => {
    const c = good();
    (c.features[1] as Record<string, unknown>).type = 'float';
    delete c.version;
    const p = problemsOf(c);
    expect(p.map((x) => x.path)).toEqual(expect.arrayContaining(['$.version', '$.features[1].type']));
  });

  it('rejects min > max, duplicate names, duplicate/empty categories and special columns used as features', () => {
    const c = good();
    c.features[0] = { name: 'tenure_months', type: 'integer', min: 10, max: 5 };
    c.features[1] = { name: 'tenure_months', type: 'number', min: 0, max: 1 };
    c.features[6] = { name: 'plan', type: 'category', categories: ['a', 'b', 'a'] };
    c.features.push({ name: 'churned', type: 'boolean' });
    c.features.push({ name: 'customer_id', type: 'boolean' });
    const p = problemsOf(c);
    expect(p).toEqual(
      expect.arrayContaining([
        { path: '$.features[0].max', message: 'max (5) must be >= min (10)' },
        { path: '$.features[1].name', message: 'duplicate feature name "tenure_months" (also $.features[0])' },
        { path: '$.features[6].categories[2]', message: 'duplicate category "a"' },
        { path: '$.features[8].name', message: 'feature "churned" is also the column of $.label.name' },
        { path: '$.features[9].name', message: 'feature "customer_id" is also the column of $.entity.name' },
      ]),
    );
    const empty = good();
    empty.features[6] = { name: 'plan', type: 'category', categories: [] };
    expect(problemsOf(empty)).toEqual([{ path: '$.features[6].categories', message: 'at least one category' }]);
  });

  it('rejects an integer feature with fractional bounds, clashing indicator names, bad names and a bad pattern', () => {
    const c = good();
    c.features[0] = { name: 'tenure_months', type: 'integer', min: 0.5, max: 5 };
    c.features.push({ name: 'total_charges_is_null', type: 'boolean' });
    c.features.push({ name: '_line', type: 'boolean' });
    (c.entity as Record<string, unknown>).pattern = '([';
    const p1 = problemsOf(c);
    expect(p1.map((x) => x.path)).toEqual(expect.arrayContaining(['$.features[0].min', '$.features[9].name']));
    c.features[0] = { name: 'tenure_months', type: 'integer', min: 0, max: 5 };
    c.features.pop();
    const p2 = problemsOf(c);
    expect(p2).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '$.entity.pattern' }),
        expect.objectContaining({ path: '$.features[8].name', message: expect.stringContaining('null indicator') }),
      ]),
    );
  });

  it('rejects the same column for entity and as_of, and unknown keys', () => {
    const c = good();
    (c.asOf as Record<string, unknown>).name = 'customer_id';
    (c as Record<string, unknown>).extra = 1;
    const p = problemsOf(c);
    expect(p.map((x) => x.path)).toContain('$');
    const c2 = good();
    (c2.asOf as Record<string, unknown>).name = 'customer_id';
    expect(problemsOf(c2)).toEqual([
      { path: '$.asOf.name', message: 'column "customer_id" is already used by $.entity.name' },
    ]);
  });

  it('formats JSON paths', () => {
    expect(formatJsonPath(['features', 2, 'min'])).toBe('$.features[2].min');
    expect(formatJsonPath(['a b'])).toBe('$["a b"]');
  });

  it('type exports are usable', () => {
    const c: FeatureContract = loadDefaultContract();
    expect(c.features.length).toBe(8);
  });
});
