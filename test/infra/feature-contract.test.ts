import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppConfig, ConfigError, parseEnvironmentConfig } from '../../lib/config';
import { CONTRACT_SOURCE, checkFeatureContract } from '../../lib/feature-contract';

const contractFile = join(__dirname, '../../config/feature-contract.json');
type RawContract = Record<string, unknown> & { entity: Record<string, unknown>; features: Record<string, unknown>[] };
const shipped = () => JSON.parse(readFileSync(contractFile, 'utf8')) as RawContract;
const config = (raw: unknown = {}): AppConfig => parseEnvironmentConfig('qa', raw);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.message).not.toContain('\n');
      return err.message;
    }
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('checkFeatureContract (synth)', () => {
  test('the shipped contract and the default segment feature pass', () => {
    const contract = checkFeatureContract(config());
    expect(contract.entity.pattern).toBe(shipped().entity.pattern);
  });

  test('a contract without entity.pattern is refused (it used to train, register and fail every LoadScores)', () => {
    const raw = shipped();
    delete raw.entity.pattern;
    const message = refusal(() => checkFeatureContract(config(), raw, 'test/contract.json'));
    expect(message).toContain('Invalid feature contract test/contract.json (environment qa)');
    expect(message).toContain('$.entity.pattern: required');
  });

  test('a wider entity.pattern is refused naming the environment, the key, the value and the rule', () => {
    const raw = shipped();
    raw.entity.pattern = '^.{1,256}$';
    const message = refusal(() => checkFeatureContract(config(), raw, 'test/contract.json'));
    expect(message).toMatch(
      /^Invalid feature contract test\/contract\.json \(environment qa\): \$\.entity\.pattern = "\^\.\{1,256\}\$" is not allowed: accepts ids the score store, the loader and the read API refuse, e\.g\. ".*"; expected a pattern within /,
    );
  });

  test('a narrower entity.pattern passes', () => {
    const raw = shipped();
    raw.entity.pattern = '^C[0-9]{6}$';
    expect(checkFeatureContract(config(), raw).entity.pattern).toBe('^C[0-9]{6}$');
  });

  test('an invalid contract is refused with the loader the Lambdas use', () => {
    const raw = shipped();
    raw.version = 'one';
    const message = refusal(() => checkFeatureContract(config(), raw));
    expect(message).toContain(`Invalid feature contract ${CONTRACT_SOURCE} (environment qa): Feature contract`);
    expect(message).toContain('$.version: a semantic version');
  });

  test.each<[string, string]>([
    ['plann', 'one of plan, region'],
    ['tenure_months', '("tenure_months" has type integer)'],
    ['Plan', 'one of plan, region'],
  ])('cache.segmentFeature %j is refused: it must name a category feature', (segmentFeature, names) => {
    const message = refusal(() => checkFeatureContract(config({ cache: { segmentFeature } })));
    expect(message).toContain(
      `environments.qa.cache.segmentFeature = ${JSON.stringify(segmentFeature)} is not allowed`,
    );
    expect(message).toContain('expected a category feature of feature contract customer-churn 1.0.0');
    expect(message).toContain(names);
  });

  test('cache.segmentFeature may name any category feature', () => {
    expect(() => checkFeatureContract(config({ cache: { segmentFeature: 'region' } }))).not.toThrow();
  });

  test('a segment feature whose categories the store cannot key is refused', () => {
    const raw = shipped();
    const plan = raw.features.find((f) => f.name === 'plan');
    if (plan) plan.categories = ['basic', 'pro+', 'premium'];
    const message = refusal(() => checkFeatureContract(config(), raw));
    expect(message).toContain('environments.qa.cache.segmentFeature = "plan" is not allowed: its categories "pro+"');
  });
});
