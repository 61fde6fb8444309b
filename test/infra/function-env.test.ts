import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { FUNCTION_ENV, type FunctionName } from '../../contracts/function-env';
import { createApplicationStacks, projectFunctions } from '../../lib/application';
import { loadConfig } from '../../lib/config';
import type { ProjectFunction } from '../../lib/constructs/project-function';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

/** Added by ProjectFunction to every function (not part of the per-function declaration). */
const PLATFORM_VARIABLES = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];

const app = new App({ context: testContext() });
const stacks = createApplicationStacks(app, loadConfig(app.node));
const functions = projectFunctions(stacks.all).map(({ name, fn: f }) => {
  const fn = f as ProjectFunction;
  const cfn = fn.node.defaultChild as lambda.CfnFunction;
  const resolved = Stack.of(fn).resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
  const variables = Object.keys(resolved?.variables ?? {}).filter((k) => !PLATFORM_VARIABLES.includes(k));
  return { name, dir: fn.serviceName as FunctionName, variables: variables.sort() };
});

describe('synthesized function environments match contracts/function-env.ts', () => {
  it('every declared function is deployed', () => {
    expect([...new Set(functions.map((f) => f.dir))].sort()).toEqual(Object.keys(FUNCTION_ENV).sort());
  });

  it.each(functions.map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const declared = Object.entries(FUNCTION_ENV[f.dir]) as [string, { supply: string }][];
    const given = declared.filter(([, v]) => v.supply === 'given').map(([k]) => k);
    const allowed = declared.filter(([, v]) => v.supply !== 'platform').map(([k]) => k);
    expect(f.variables).toEqual(expect.arrayContaining(given));
    expect(f.variables.filter((k) => !allowed.includes(k))).toEqual([]);
  });
});
