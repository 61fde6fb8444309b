import type { RunSummary } from '../../../contracts/states/batch';
import { chainOf, continueChain } from '../../../lambdas/domain/chain';

const summary = (objects: number, rowsLoaded = objects * 10): RunSummary => ({
  outcome: 'SCORED',
  modelVersion: 3,
  objects,
  objectsQuarantined: 0,
  rowsIn: rowsLoaded,
  rowsUsed: rowsLoaded,
  rowsQuarantined: 0,
  rowsLoaded,
  truncated: true,
});

describe('continueChain', () => {
  const base = { maxRunsPerChain: 5, nextRunId: () => 'batch-next' };

  it('a truncated first run starts a chain: iterations 1, its own totals, a continuation named by nextRunId', () => {
    const d = continueChain({
      ...base,
      runId: 'batch-a',
      executionInput: { trigger: 'schedule' },
      summary: summary(3),
      truncated: true,
    });
    expect(d.summary).toMatchObject({
      iterations: 1,
      totals: { objects: 3, rowsLoaded: 30 },
      continuesAs: 'batch-next',
    });
    expect(d.summary.continuedFrom).toBeUndefined();
    expect(d.continuation).toEqual({
      name: 'batch-next',
      input: {
        trigger: 'continuation',
        chain: {
          head: 'batch-a',
          previous: 'batch-a',
          iterations: 1,
          totals: { objects: 3, objectsQuarantined: 0, rowsIn: 30, rowsUsed: 30, rowsQuarantined: 0, rowsLoaded: 30 },
        },
      },
    });
  });

  it('a continuation adds its counts to the chain it was given and keeps the head', () => {
    const first = continueChain({
      ...base,
      runId: 'batch-a',
      executionInput: {},
      summary: summary(3),
      truncated: true,
    });
    const second = continueChain({
      ...base,
      runId: 'batch-next',
      executionInput: first.continuation?.input,
      summary: { ...summary(2), truncated: false },
      truncated: false,
    });
    expect(second.summary).toMatchObject({
      iterations: 2,
      continuedFrom: 'batch-a',
      totals: { objects: 5, rowsLoaded: 50 },
    });
    expect(second.continuation).toBeUndefined();
    expect(second.head).toBe('batch-a');
    expect(second.stopped).toBeUndefined();
  });

  it('a truncated run that moved no object does not continue (the next would take the same objects)', () => {
    const d = continueChain({ ...base, runId: 'batch-a', executionInput: {}, summary: summary(0), truncated: true });
    expect(d.continuation).toBeUndefined();
    expect(d.stopped).toBe('NO_PROGRESS');
  });

  it('stops at maxRunsPerChain', () => {
    const input = {
      trigger: 'continuation',
      chain: { head: 'h', previous: 'p', iterations: 4, totals: summary(12) },
    };
    const d = continueChain({ ...base, runId: 'r5', executionInput: input, summary: summary(3), truncated: true });
    expect(d.summary.iterations).toBe(5);
    expect(d.continuation).toBeUndefined();
    expect(d.stopped).toBe('CHAIN_LIMIT');
  });

  it('an input that is not a valid continuation starts a new chain', () => {
    expect(chainOf({ trigger: 'continuation', chain: { head: 'h' } })).toBeUndefined();
    expect(chainOf(undefined)).toBeUndefined();
    expect(chainOf({ trigger: 'manual' })).toBeUndefined();
  });
});
