import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { extractDefinition, resolveResources } from '../../../local/runtime/inventory';
import { runStateMachine } from '../../../local/runtime/sfn-runner';
import { synthesizeApp } from '../../../local/runtime/synth';
import { describeWithServers } from '../../support/servers';
import { buildFixtureApp } from './fixtures/fixture-app';

const app = synthesizeApp({ build: buildFixtureApp, useCdkJson: false });
const definition = extractDefinition(app, 'Training');
const resources = resolveResources(app);

const trainOverride = jest.fn(async (input: unknown) => ({
  TrainingJobStatus: 'Completed',
  TrainingJobName: (input as { TrainingJobName: string }).TrainingJobName,
}));

describe('runStateMachine', () => {
  beforeEach(() => trainOverride.mockClear());

  it('runs Lambda tasks through their handler modules, Map iterations, overrides and the context object', async () => {
    const events: string[] = [];
    const res = await runStateMachine({
      definition,
      functions: resources.functions,
      overrides: { Train: trainOverride },
      input: { items: [{ n: 1 }, { n: 2 }, { n: 3 }], explode: false },
      name: 'exec-1',
      env: { EXTRA_VAR: 'from-runner' },
      onEvent: (e) => events.push(`${e.type}:${e.state ?? ''}`),
    });
    expect(res.status).toBe('SUCCEEDED');
    const out = res.output as {
      prepared: { event: unknown; bucket: string; table: string; extra: string; functionName: string };
      train: unknown;
      loaded: { event: unknown }[];
    };
    expect(out.prepared.event).toEqual({ items: [{ n: 1 }, { n: 2 }, { n: 3 }], name: 'exec-1' });
    expect(out.prepared.bucket).toBe(resources.buckets[0]!.name);
    expect(out.prepared.table).toBe(resources.tables[0]!.name);
    expect(out.prepared.extra).toBe('from-runner');
    expect(trainOverride).toHaveBeenCalledWith(expect.objectContaining({ TrainingJobName: 'exec-1' }));
    expect(out.train).toEqual({ TrainingJobStatus: 'Completed', TrainingJobName: 'exec-1' });
    expect(out.loaded.map((l) => l.event)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(res.path).toEqual(['Prepare', 'Train', 'EachItem', 'ShouldExplode?', 'Done']);
    expect(res.steps.filter((s) => s.state === 'LoadItem')).toHaveLength(3);
    expect(res.steps.every((s) => s.durationMs >= 0)).toBe(true);
    expect(events).toContain('StateEntered:Train');
    expect(Object.keys(res.stateOutputs)).toEqual(expect.arrayContaining(['Prepare', 'Train', 'EachItem']));
    expect(res.stateOutputs).not.toHaveProperty('LoadItem');
    expect((res.stateOutputs.Train as { train: unknown }).train).toEqual(out.train);
    expect(res.executionArn).toMatch(/:execution:LocalStateMachine:exec-1$/);
  });

  it('routes a typed handler error through Catch with Lambda-shaped cause and reports the failure', async () => {
    const res = await runStateMachine({
      definition,
      functions: resources.functions,
      overrides: { Train: trainOverride },
      input: { items: [], explode: true },
    });
    expect(res.status).toBe('FAILED');
    expect(res.error?.Error).toBe('Failed');
    expect(res.path).toEqual(['Prepare', 'Train', 'EachItem', 'ShouldExplode?', 'Explode', 'RecordFailure', 'Failed']);
    const rec = res.steps.find((s) => s.state === 'Explode');
    expect(rec?.status).not.toBe('SUCCEEDED');
    const exit = res.events.find((e) => e.type === 'StateCaught' || e.type === 'StateFailed');
    expect(exit?.error).toBe('ValidationError');
    const cause = JSON.parse(exit!.cause!) as { errorType: string; errorMessage: string };
    expect(cause).toMatchObject({
      errorType: 'ValidationError',
      errorMessage: 'row 3 column plan: unknown category "gold"',
    });
  });

  it('fails the state clearly when a non-Lambda task has no override', async () => {
    const res = await runStateMachine({
      definition,
      functions: resources.functions,
      input: { items: [], explode: false },
    });
    expect(res.status).toBe('FAILED');
    expect(res.error?.Cause).toMatch(
      /State Train: Resource arn:aws:states:::sagemaker:createTrainingJob.sync has no local implementation/,
    );
  });

  it('refuses to start when a Lambda task names an unknown function', async () => {
    await expect(
      runStateMachine({ definition, functions: {}, overrides: { Train: trainOverride }, input: { items: [] } }),
    ).rejects.toThrow(/State Prepare: no local function for arn:aws:lambda:[^;]+; known: \(none\)/);
  });
});

describeWithServers('service integrations against moto', { moto: true }, (env) => {
  it('runs sns:publish and aws-sdk:* tasks through the SDK, naming SDK errors like Step Functions', async () => {
    const sns = new SNSClient({ endpoint: env.moto.endpoint, region: 'us-east-1' });
    const topic = await sns.send(new CreateTopicCommand({ Name: 'alerts' }));
    const definition = {
      StartAt: 'Alert',
      States: {
        Alert: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          Parameters: { TopicArn: topic.TopicArn, 'Message.$': '$.message' },
          ResultPath: '$.published',
          Next: 'Describe',
        },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:describeTable',
          Parameters: { TableName: 'no-such-table' },
          Catch: [{ ErrorEquals: ['DynamoDb.ResourceNotFoundException'], ResultPath: '$.error', Next: 'Done' }],
          End: true,
        },
        Done: { Type: 'Succeed' },
      },
    };
    const res = await runStateMachine({ definition, input: { message: 'run failed' } });
    expect(res.status).toBe('SUCCEEDED');
    const out = res.output as { published: { MessageId: string }; error: { Error: string } };
    expect(out.published.MessageId).toMatch(/[0-9a-f-]{36}/);
    expect(out.error.Error).toBe('DynamoDb.ResourceNotFoundException');
  });
});
