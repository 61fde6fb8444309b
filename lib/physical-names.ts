import type { AppConfig } from './config';

/**
 * The physical names an environment gives its resources, in one place: the stacks, the tests and the local runtime
 * (which reads them back from the synthesized template) all go through here.
 *
 * Every name carries `<namePrefix>-<envName>`, so two environments (e.g. `dev` and `prod`) deploy side by side in one
 * account and region without sharing a registry, a state machine or a log group. Stack names follow the same rule
 * (lib/application.ts); bucket names add the account and region (lib/stacks/data-stack.ts).
 */
export interface PhysicalNames {
  /** `<prefix>-<env>`: the stem of every name below (also the prefix of transform jobs and SageMaker Models). */
  readonly stem: string;
  /** Training state machine. */
  readonly trainingStateMachine: string;
  /** BatchInference state machine (the approval function starts it by this name). */
  readonly batchStateMachine: string;
  /** SageMaker Model Package Group (the registry; its approval rule matches this name only). */
  readonly modelPackageGroup: string;
  /** Log group of a state machine: under `/aws/vendedlogs/states/`, the prefix AWS recommends for vended logs. */
  stateMachineLogGroup(stateMachineName: string): string;
  /** Alias of a KMS key of the environment (`alias/<prefix>-<env>-<purpose>`). */
  keyAlias(purpose: string): string;
}

/** Step Functions: state machine names are 1-80 characters. */
const MAX_STATE_MACHINE_NAME = 80;
/** SageMaker: Model Package Group names are 1-63 characters of `[a-zA-Z0-9-]`. */
const MAX_MODEL_PACKAGE_GROUP_NAME = 63;

/**
 * The physical names of `config`'s environment.
 *
 * @throws Error when a name would exceed its service's length limit (names the setting to shorten)
 */
export function physicalNames(config: Pick<AppConfig, 'namePrefix' | 'envName'>): PhysicalNames {
  const stem = `${config.namePrefix}-${config.envName}`;
  const checked = (name: string, max: number, what: string): string => {
    if (name.length > max) {
      throw new Error(
        `${what} "${name}" is longer than ${max} characters: shorten namePrefix ("${config.namePrefix}") or the environment name ("${config.envName}")`,
      );
    }
    return name;
  };
  return {
    stem,
    trainingStateMachine: checked(`${stem}-training`, MAX_STATE_MACHINE_NAME, 'State machine name'),
    batchStateMachine: checked(`${stem}-batch-inference`, MAX_STATE_MACHINE_NAME, 'State machine name'),
    modelPackageGroup: checked(`${stem}-churn`, MAX_MODEL_PACKAGE_GROUP_NAME, 'Model package group name'),
    stateMachineLogGroup: (stateMachineName) => `/aws/vendedlogs/states/${stateMachineName}`,
    keyAlias: (purpose) => `alias/${stem}-${purpose}`,
  };
}
