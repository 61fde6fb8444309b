/**
 * Run ids reused by a second execution, on the synthesized state machines (bin/app.ts) with the real handlers against
 * moto_server and redis-server (local/runtime/sfn-runner.ts). The CLI refuses a used run id before it starts anything
 * (test/cli/run-ids.test.ts); these are what the state machines themselves do when an execution gets one anyway (the
 * console, another tool, a race with the CLI's check): the run that has the id keeps its record and its lock.
 */
import { BatchState as S, TrainingState as T } from '../../contracts/states/names';
import { getLock } from '../../lambdas/domain/lock';
import { completeRun, createRun, getRun } from '../../lambdas/domain/tracking';
import { extractDefinition } from '../../local/runtime/inventory';
import { type RunResult, runStateMachine } from '../../local/runtime/sfn-runner';
import type { StateOverride } from '../../local/runtime/task-handlers';
import { describeWithServers } from '../support/servers';
import { batchDefinition, FAILURE_PATH, Pipeline } from './support/pipeline';

jest.setTimeout(180_000);

describeWithServers('run ids reused by a second execution (moto + redis)', { moto: true, redis: true }, (env) => {
  let p: Pipeline;
  const training = extractDefinition(batchDefinition().app, 'TrainingStateMachine');
  const runTraining = (name: string): Promise<RunResult> =>
    runStateMachine({
      definition: training,
      functions: p.resources.functions,
      input: { trigger: 'test' },
      name,
      env: p.env,
    });

  beforeAll(async () => {
    p = new Pipeline({ handlerEndpoint: env.moto.endpoint, motoEndpoint: env.moto.endpoint, redisUrl: env.redis.url });
    await p.provision();
  });

  it('a batch execution under the id of a SUCCEEDED training run fails at AcquireLock; the training run stays SUCCEEDED, untouched, and the lock is free', async () => {
    // The training run behind Production, as StartRun and CompleteRun wrote it.
    const id = 'train-20261101T000000Z-prod';
    await createRun(p.doc, p.table, {
      runId: id,
      kind: 'training',
      trigger: 'schedule',
      codeVersion: 'test',
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:training:${id}`,
      startedAt: new Date('2026-11-01T00:00:00Z'),
    });
    await completeRun(p.doc, p.table, id, { fields: { modelPackageArn: 'arn:pkg/1' } });
    const before = await getRun(p.doc, p.table, id);

    const res = await p.run(id);
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([S.AcquireLock, ...FAILURE_PATH]);
    expect(res.error?.Error).toBe('ConflictError');
    expect(res.error?.Cause).toMatch(
      new RegExp(`Run id ${id} is already used by the training run started 2026-11-01T00:00:00.000Z \\(SUCCEEDED\\)`),
    );
    expect(res.stateOutputs[S.RecordFailure]).toMatchObject({ failure: { recorded: false } });
    expect(await getRun(p.doc, p.table, id)).toEqual(before);
    expect(await getLock(p.doc, p.table)).toBeUndefined();
  });

  it('the same batch id a second time (after the first ended) fails; the first run record stays as it ended', async () => {
    const id = 'batch-20261102T000000Z-twice';
    const first = await p.run(id);
    expect(first.path.at(-1)).toBe(S.NothingToScore);
    const before = await getRun(p.doc, p.table, id);
    expect(before).toMatchObject({ status: 'SUCCEEDED', outcome: 'NO_WORK', executionArn: first.executionArn });

    const second = await p.run(id);
    expect(second.status).toBe('FAILED');
    expect(second.path).toEqual([S.AcquireLock, ...FAILURE_PATH]);
    expect(second.error?.Error).toBe('ConflictError');
    expect(await getRun(p.doc, p.table, id)).toEqual(before);
    expect(await getLock(p.doc, p.table)).toBeUndefined();
  });

  it('a training execution under a batch run id fails at StartRun; the batch run record is untouched', async () => {
    const id = 'batch-20261102T000000Z-twice';
    const before = await getRun(p.doc, p.table, id);
    const res = await runTraining(id);
    expect(res.status).toBe('FAILED');
    expect(res.path).toEqual([T.StartRun, T.RecordFailure, T.Alert, T.Fail]);
    expect(res.error?.Error).toBe('ConflictError');
    expect(res.error?.Cause).toMatch(/already used by the batch run started .* \(SUCCEEDED\)/);
    expect(await getRun(p.doc, p.table, id)).toEqual(before);
  });

  it('the same id twice at once: the second execution can neither take over, renew nor release the first one’s lock', async () => {
    const id = 'batch-20261103T000000Z-same';
    let second: RunResult | undefined;
    let lockDuringFirst: Awaited<ReturnType<typeof getLock>>;
    let releasedBySecond: unknown;
    const findUnscored: StateOverride = async (input) => {
      // The first execution holds the lock here; a second one under the same run id starts now.
      second = await p.run(id);
      lockDuringFirst = await getLock(p.doc, p.table);
      // The second execution's own ReleaseLock step (the real handler) against the first one's lease.
      releasedBySecond = await p.invoke('lambdas/functions/release-lock/handler.ts', {
        runId: id,
        execution: { id: second.executionArn, startTime: new Date(second.startedAt).toISOString() },
      });
      return p.invoke('lambdas/functions/find-unscored/handler.ts', input);
    };
    const first = await p.run(id, { [S.FindUnscored]: findUnscored });

    expect(second?.status).toBe('SUCCEEDED');
    expect(second?.path).toEqual([S.AcquireLock, S.LockAcquired, S.AlreadyRunning]);
    // The run record has the first execution's $$.Execution.StartTime; the lock is held by that execution.
    const record = await getRun(p.doc, p.table, id);
    expect(record).toMatchObject({ status: 'SUCCEEDED', outcome: 'NO_WORK', executionArn: first.executionArn });
    expect(lockDuringFirst).toMatchObject({ owner: id, execution: `${first.executionArn}@${record?.startedAt}` });
    expect(releasedBySecond).toEqual({ runId: id, released: false, heldBy: id });
    // The first execution went on with its lock and its record, and released the lock itself.
    expect(first.status).toBe('SUCCEEDED');
    expect(first.path.at(-1)).toBe(S.NothingToScore);
    expect(await getLock(p.doc, p.table)).toBeUndefined();
  });
});
