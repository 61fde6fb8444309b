import contractJson from '../config/feature-contract.json';
import { entityPatternProblem } from '../contracts/entity-pattern';
import { ValidationError } from '../contracts/errors';
import { type FeatureContract, loadContract } from '../contracts/feature-contract';
import { SEGMENT_PATTERN } from '../contracts/score-layout';
import { type AppConfig, ConfigError } from './config';

/** Where the contract the Lambdas bundle lives (lambdas/data/contract.ts imports the same file). */
export const CONTRACT_SOURCE = 'config/feature-contract.json';

/**
 * The feature contract, checked at synth with the loader the Lambdas use, and the settings of `config` that depend on
 * it: a bad contract or `cache.segmentFeature` is refused here instead of failing the first run that reads it.
 *
 * - the contract loads (schema and cross-field rules, contracts/feature-contract.ts);
 * - its `entity.pattern` accepts no id the score store, the loader and the read API refuse
 *   (contracts/entity-pattern.ts);
 * - `cache.segmentFeature` names a category feature whose values are valid segment values.
 *
 * @param raw the contract (defaults to the repository's); tests pass others
 * @throws ConfigError, one line naming the environment, the key, the value and the rule
 */
export function checkFeatureContract(
  config: AppConfig,
  raw: unknown = contractJson,
  source = CONTRACT_SOURCE,
): FeatureContract {
  const where = `feature contract ${source} (environment ${config.envName})`;
  let contract: FeatureContract;
  try {
    contract = loadContract(raw, source);
  } catch (err) {
    if (err instanceof ValidationError) throw new ConfigError(`Invalid ${where}: ${err.message}`, [err.message]);
    throw err;
  }
  const issues: string[] = [];
  const patternProblem = entityPatternProblem(contract.entity.pattern);
  if (patternProblem) {
    issues.push(`$.entity.pattern = ${JSON.stringify(contract.entity.pattern)} is not allowed: ${patternProblem}`);
  }
  if (issues.length > 0) throw new ConfigError(`Invalid ${where}: ${issues.join('; ')}`, issues);

  const segment = segmentFeatureProblem(config, contract, source);
  if (segment) throw new ConfigError(`Invalid configuration (cdk.json context): ${segment}`, [segment]);
  return contract;
}

function segmentFeatureProblem(config: AppConfig, contract: FeatureContract, source: string): string | undefined {
  const name = config.cache.segmentFeature;
  const key = `environments.${config.envName}.cache.segmentFeature = ${JSON.stringify(name)} is not allowed`;
  const categories = contract.features.filter((f) => f.type === 'category').map((f) => f.name);
  const feature = contract.features.find((f) => f.name === name);
  const of = `feature contract ${contract.name} ${contract.version} (${source})`;
  if (feature?.type !== 'category') {
    const found = feature ? ` ("${name}" has type ${feature.type})` : '';
    return `${key}: expected a category feature of ${of}: one of ${categories.join(', ') || '(none: the contract has no category feature)'}${found}`;
  }
  const bad = feature.categories.filter((c) => !SEGMENT_PATTERN.test(c));
  if (bad.length > 0) {
    return `${key}: its categories ${bad.map((c) => JSON.stringify(c)).join(', ')} in ${of} are not segment values the score store accepts (${SEGMENT_PATTERN.source})`;
  }
  return undefined;
}
