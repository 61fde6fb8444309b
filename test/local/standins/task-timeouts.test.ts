import { withSyncTaskTimeouts } from '../../../local/standins/task-timeouts';

describe('withSyncTaskTimeouts', () => {
  it('gives SageMaker .sync Tasks without a timeout the local one, nested ones too, and leaves the rest', () => {
    const train = { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync' };
    const definition = {
      StartAt: 'Train',
      States: {
        Train: train,
        Lambda: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:1:function:f' },
        Given: { ...train, TimeoutSeconds: 30 },
        Map: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'T',
            States: { T: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync' } },
          },
        },
      },
    };
    const out = withSyncTaskTimeouts(definition);
    expect(out.States.Train).toEqual({ ...train, TimeoutSeconds: 2_000_000 });
    expect(out.States.Lambda).toEqual(definition.States.Lambda);
    expect(out.States.Given).toEqual({ ...train, TimeoutSeconds: 30 });
    expect((out.States.Map.ItemProcessor.States.T as { TimeoutSeconds?: number }).TimeoutSeconds).toBe(2_000_000);
    expect(definition.States.Train).not.toHaveProperty('TimeoutSeconds');
  });
});
