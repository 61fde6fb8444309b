import { withStepFunctionsTaskTimeouts } from '../../../local/standins/task-timeouts';

describe('withStepFunctionsTaskTimeouts', () => {
  it('gives every Task without a timeout the local stand-in for none, nested ones too, and keeps given ones', () => {
    const train = { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync' };
    const lambda = { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:f' };
    const definition = {
      StartAt: 'Train',
      States: {
        Train: train,
        Lambda: lambda,
        Given: { ...train, TimeoutSeconds: 30 },
        ByPath: { ...lambda, TimeoutSecondsPath: '$.timeout' },
        Pass: { Type: 'Pass', Next: 'Train' },
        Map: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'T',
            States: { T: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync' } },
          },
        },
        Parallel: { Type: 'Parallel', Branches: [{ StartAt: 'L', States: { L: lambda } }] },
      },
    };
    const out = withStepFunctionsTaskTimeouts(definition);
    expect(out.States.Train).toEqual({ ...train, TimeoutSeconds: 2_000_000 });
    expect(out.States.Lambda).toEqual({ ...lambda, TimeoutSeconds: 2_000_000 });
    expect(out.States.Given).toEqual({ ...train, TimeoutSeconds: 30 });
    expect(out.States.ByPath).toEqual(definition.States.ByPath);
    expect(out.States.Pass).toEqual(definition.States.Pass);
    expect((out.States.Map.ItemProcessor.States.T as { TimeoutSeconds?: number }).TimeoutSeconds).toBe(2_000_000);
    expect((out.States.Parallel.Branches[0]!.States.L as { TimeoutSeconds?: number }).TimeoutSeconds).toBe(2_000_000);
    expect(definition.States.Train).not.toHaveProperty('TimeoutSeconds');
  });
});
