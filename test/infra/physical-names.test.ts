import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../bin/app';
import { physicalNames } from '../../lib/physical-names';
import { NAME_PROPERTY } from '../../local/runtime/names';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

type Json = Record<string, unknown>;

/**
 * Where each resource type carries a name that must be unique in an account and region: the local runtime's map
 * (lib and local runtime share it) plus the types only CloudWatch, Glue and API Gateway name.
 */
const NAME_PATHS: Record<string, readonly string[]> = {
  ...Object.fromEntries(Object.entries(NAME_PROPERTY).map(([type, prop]) => [type, [prop]])),
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::Glue::Database': ['DatabaseInput', 'Name'],
  'AWS::ApiGateway::RestApi': ['Name'],
};

function referencesResource(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(referencesResource);
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Json;
  if (typeof o.Ref === 'string') return !o.Ref.startsWith('AWS::');
  if ('Fn::GetAtt' in o) return true;
  return Object.values(o).some(referencesResource);
}

/** Every physical name an environment's templates set (literal or built with Fn::Join/Fn::Sub), plus stack names. */
function namesOf(envName: string): Map<string, string> {
  const { app, data, network, serving, training, batch, monitoring } = createApp(
    { context: testContext({ env: envName }) },
    { pipeline: false },
  );
  const names = new Map<string, string>();
  for (const stack of [data, network, serving, training, batch, monitoring]) {
    names.set(`stack ${stack.stackName}`, stack.stackName);
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Properties?: Json }
    >;
    for (const [logicalId, r] of Object.entries(resources)) {
      const path = NAME_PATHS[r.Type];
      if (!path) continue;
      let value: unknown = r.Properties;
      for (const key of path) value = (value as Json | undefined)?.[key];
      if (value === undefined) continue;
      // A name built from another resource's id (Ref/GetAtt of a resource, not a pseudo parameter such as
      // AWS::AccountId) is as unique as that resource, which the map counts itself.
      if (referencesResource(value)) continue;
      names.set(`${stack.stackName}/${logicalId} (${r.Type})`, JSON.stringify(value));
    }
  }
  void app;
  return names;
}

describe('physical names per environment', () => {
  const dev = namesOf('dev');
  const prod = namesOf('prod');

  test('dev and prod in one account and region (both unset) share no physical name', () => {
    const prodValues = new Set(prod.values());
    const shared = [...dev].filter(([, v]) => prodValues.has(v)).map(([where, v]) => `${where} = ${v}`);
    expect(shared).toEqual([]);
  });

  test('the named resources are all there (state machines, registry, buckets, log groups, alarms, stacks)', () => {
    for (const names of [dev, prod]) {
      const types = [...names.keys()].join('\n');
      for (const type of [
        'AWS::StepFunctions::StateMachine',
        'AWS::SageMaker::ModelPackageGroup',
        'AWS::S3::Bucket',
        'AWS::Logs::LogGroup',
        'AWS::KMS::Alias',
        'AWS::CloudWatch::Alarm',
        'AWS::Glue::Database',
      ]) {
        expect(types).toContain(type);
      }
      expect([...names.keys()].filter((k) => k.startsWith('stack '))).toHaveLength(6);
    }
    const values = [...dev.values()];
    const n = physicalNames({ namePrefix: 'mlops-batch', envName: 'dev' });
    for (const expected of [n.trainingStateMachine, n.batchStateMachine, n.modelPackageGroup]) {
      expect(values).toContain(JSON.stringify(expected));
    }
    expect(values).toContain(JSON.stringify(n.stateMachineLogGroup(n.trainingStateMachine)));
  });

  test('names carry the environment and stay within the service limits', () => {
    expect(physicalNames({ namePrefix: 'mlops-batch', envName: 'prod' })).toMatchObject({
      trainingStateMachine: 'mlops-batch-prod-training',
      batchStateMachine: 'mlops-batch-prod-batch-inference',
      modelPackageGroup: 'mlops-batch-prod-churn',
    });
    expect(() => physicalNames({ namePrefix: 'a'.repeat(21), envName: 'e'.repeat(40) })).toThrow(
      /Model package group name .* longer than 63 characters: shorten namePrefix/,
    );
  });
});
