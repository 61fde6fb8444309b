import defaultContractJson from '../../config/feature-contract.json';
import { ValidationError } from '../../contracts/errors';
import { type FeatureContract, type FeatureSpec, loadContract } from '../../contracts/feature-contract';

/**
 * The feature data contract as the Lambdas use it: `config/feature-contract.json` is imported (not read from disk) so
 * esbuild bundles it into every Lambda that validates or encodes features. The schema and its loader live in
 * contracts/feature-contract.ts (`cdk synth` checks the same file with them).
 */

export {
  BooleanFeatureSchema,
  CategoryFeatureSchema,
  type CategoryFeatureSpec,
  type ContractProblem,
  type FeatureContract,
  FeatureContractSchema,
  FeatureSchema,
  type FeatureSpec,
  formatJsonPath,
  IntegerFeatureSchema,
  loadContract,
  NULL_INDICATOR_SUFFIX,
  NumberFeatureSchema,
  type NumericFeatureSpec,
  RESERVED_QUARANTINE_COLUMNS,
} from '../../contracts/feature-contract';

export const DEFAULT_CONTRACT_SOURCE = 'config/feature-contract.json';
let defaultContract: FeatureContract | undefined;

/** The repository's contract (`config/feature-contract.json`, bundled into the Lambda), validated once per container. */
export function loadDefaultContract(): FeatureContract {
  defaultContract ??= loadContract(defaultContractJson, DEFAULT_CONTRACT_SOURCE);
  return defaultContract;
}

/** All columns a feature file of this contract has, in the canonical order (entity, as_of, [label], features). */
export function contractColumns(contract: FeatureContract, mode: 'training' | 'inference'): string[] {
  const cols = [contract.entity.name, contract.asOf.name];
  if (mode === 'training') cols.push(contract.label.name);
  for (const f of contract.features) cols.push(f.name);
  return cols;
}

/** Look up a feature by name; throws ValidationError naming the contract when it is missing. */
export function featureByName(contract: FeatureContract, name: string): FeatureSpec {
  const f = contract.features.find((x) => x.name === name);
  if (!f) {
    throw new ValidationError(
      `Feature "${name}" is not in feature contract ${contract.name} ${contract.version} (features: ${contract.features.map((x) => x.name).join(', ')})`,
    );
  }
  return f;
}
