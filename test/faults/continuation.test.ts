/**
 * Continuation of a backlog: the synthesized BatchInference state machine with the real handlers on moto_server and
 * redis-server, `MAX_OBJECTS_PER_RUN` set small. A truncated run starts the next execution (StartContinuation, run
 * by local/runtime/continuation.ts) until nothing is due; a failure in a later run keeps what the earlier runs
 * committed and a rerun converges; the chain stops at `MAX_RUNS_PER_CHAIN` and the next run starts a new one.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import type { RunSummary } from '../../contracts/states/batch';
import { BatchState as S } from '../../contracts/states/names';
import { ledgerStatusGsiPk } from '../../contracts/table-keys';
import { getLedgerItem } from '../../lambdas/domain/ledger';
import { getLock } from '../../lambdas/domain/lock';
import { updateApprovalStatus } from '../../lambdas/domain/registry';
import { getRun } from '../../lambdas/domain/tracking';
import { runChain } from '../../local/runtime/continuation';
import type { RunResult } from '../../local/runtime/sfn-runner';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import type { StateOverride } from '../../local/runtime/task-handlers';
import { storedScores } from '../support/score-dump';
import { describeWithServers } from '../support/servers';
import { FAILURE_PATH, ids, Pipeline, SUCCESS_PATH, snapshot } from './support/pipeline';

const MAX = 3;
const MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:mlops-batch-dev-batch-inference';
const CONTINUED_PATH = [...SUCCESS_PATH.slice(0, -1), S.StartContinuation, S.Notify];

describeWithServers('BatchInference: a backlog continues in new executions', { moto: true, redis: true }, (env) => {
  let p: Pipeline;

  /** Run a chain from `first`; `env` on top of the pipeline's; `overrides(runIndex)` per run. */
  const chain = (
    first: string,
    extraEnv: Record<string, string> = {},
    overrides: (i: number) => Record<string, StateOverride> = () => ({}),
  ): Promise<RunResult[]> => {
    let i = 0;
    return runChain(MACHINE_ARN, { name: first, input: { trigger: 'test' } }, (req, startContinuation) =>
      runStateMachine({
        definition: p.definition,
        functions: p.resources.functions,
        overrides: {
          [S.Transform]: p.transform(),
          [S.StartContinuation]: startContinuation,
          ...overrides(i++),
        },
        input: req.input,
        name: req.name,
        stateMachineArn: MACHINE_ARN,
        env: { ...p.env, MAX_OBJECTS_PER_RUN: String(MAX), ...extraEnv },
      }),
    );
  };
  const pending = async () =>
    (
      await p.doc.send(
        new QueryCommand({
          TableName: p.table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk',
          ExpressionAttributeValues: { ':pk': ledgerStatusGsiPk('PENDING') },
        }),
      )
    ).Items ?? [];
  const summaryOf = (r: RunResult) => (r.output as { summary: RunSummary }).summary;
  const arriveMany = async (dt: string, prefix: string, n: number) => {
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const key = `inference/dt=${dt}/${prefix}${String(i).padStart(2, '0')}.csv`;
      await p.arrive(key, snapshot('inference', dt, ids(`${prefix}${i}-`, 5)));
      keys.push(key);
    }
    return keys;
  };

  beforeAll(async () => {
    p = new Pipeline({ handlerEndpoint: env.moto.endpoint, motoEndpoint: env.moto.endpoint, redisUrl: env.redis.url });
    await p.provision();
    const v1 = await p.registerModel('train-1');
    await updateApprovalStatus(p.sm, v1, 'Approved', 'approved in test');
  }, 180_000);

  test('3 × maxObjectsPerRun + 1 objects: a chain of 4 runs scores all, each once, and frees the lock', async () => {
    const keys = await arriveMany('2026-11-01', 'a', 3 * MAX + 1);
    const runs = await chain('batch-chain-1');
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(runs.slice(0, 3).map((r) => r.path)).toEqual([CONTINUED_PATH, CONTINUED_PATH, CONTINUED_PATH]);
    expect(runs[3]!.path).toEqual(SUCCESS_PATH);
    // Every object SCORED exactly once, by one run of the chain; no run scored more than MAX.
    const scoredBy = new Map<string, number>();
    for (const key of keys) {
      const item = await getLedgerItem(p.doc, p.table, key);
      expect(item?.status).toBe('SCORED');
      scoredBy.set(String(item?.runId), (scoredBy.get(String(item?.runId)) ?? 0) + 1);
    }
    expect([...scoredBy.keys()].sort()).toEqual(runs.map((r) => r.name).sort());
    expect([...scoredBy.values()].sort()).toEqual([1, 3, 3, 3]);
    expect(await pending()).toEqual([]);
    expect(await getLock(p.doc, p.table)).toBeUndefined();
    // Every row of every object is served, each stamped by the run of the chain that scored its object.
    const redis = new Redis(env.redis.url);
    try {
      const stored = await storedScores(redis);
      for (let i = 0; i < 3 * MAX + 1; i++) {
        const scorer = (await getLedgerItem(p.doc, p.table, keys[i]!))?.runId;
        for (const id of ids(`a${i}-`, 5)) {
          const stamp = (stored[`score:${id}`] ?? '').split('|')[2] ?? '';
          expect(stamp.slice(stamp.indexOf('_') + 1)).toBe(scorer);
        }
      }
    } finally {
      redis.disconnect();
    }

    // The summaries and run records carry the chain: iterations, totals, links both ways.
    const last = summaryOf(runs[3]!);
    expect(last).toMatchObject({ iterations: 4, continuedFrom: runs[2]!.name, truncated: false });
    expect(last.continuesAs).toBeUndefined();
    expect(last.totals).toMatchObject({ objects: 3 * MAX + 1, rowsLoaded: 5 * (3 * MAX + 1), objectsQuarantined: 0 });
    expect(summaryOf(runs[0]!)).toMatchObject({ iterations: 1, truncated: true, continuesAs: runs[1]!.name });
    const record = await getRun(p.doc, p.table, runs[2]!.name);
    expect(record).toMatchObject({
      status: 'SUCCEEDED',
      trigger: 'continuation',
      iterations: 3,
      chainHead: runs[0]!.name,
      continuedFrom: runs[1]!.name,
      continuesAs: runs[3]!.name,
      chainTotals: { objects: 3 * MAX, rowsLoaded: 15 * MAX },
    });
  }, 300_000);

  test('a failure in the second run keeps the first run committed; a rerun converges', async () => {
    const keys = await arriveMany('2026-11-02', 'b', 2 * MAX);
    const runs = await chain(
      'batch-chain-2',
      {},
      (i): Record<string, StateOverride> =>
        i === 1
          ? {
              [S.Transform]: async () => {
                throw Object.assign(new Error('transform capacity'), { name: 'SageMaker.ResourceLimitExceeded' });
              },
            }
          : {},
    );
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'FAILED']);
    expect(runs[1]!.path.slice(-FAILURE_PATH.length)).toEqual(FAILURE_PATH);
    const status = async () =>
      Promise.all(keys.map(async (k) => (await getLedgerItem(p.doc, p.table, k))?.status ?? 'none'));
    const after = await status();
    expect(after.filter((s) => s === 'SCORED')).toHaveLength(MAX);
    expect(after.filter((s) => s === 'PENDING')).toHaveLength(MAX);
    expect((await getRun(p.doc, p.table, runs[0]!.name))?.status).toBe('SUCCEEDED');
    expect((await getRun(p.doc, p.table, runs[1]!.name))?.status).toBe('FAILED');
    expect(await getLock(p.doc, p.table)).toBeUndefined();

    const rerun = await chain('batch-chain-2-rerun');
    expect(rerun.map((r) => r.status)).toEqual(['SUCCEEDED']);
    expect(await status()).toEqual(keys.map(() => 'SCORED'));
    expect(summaryOf(rerun[0]!)).toMatchObject({ iterations: 1, objects: MAX, truncated: false });
  }, 300_000);

  test('the chain stops at maxRunsPerChain; the next run starts a new chain and drains the rest', async () => {
    await arriveMany('2026-11-03', 'c', 3 * MAX);
    const runs = await chain('batch-chain-3', { MAX_RUNS_PER_CHAIN: '2' });
    expect(runs.map((r) => r.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(runs[1]!.path).toEqual(SUCCESS_PATH);
    expect(summaryOf(runs[1]!)).toMatchObject({ iterations: 2, truncated: true });
    expect(summaryOf(runs[1]!).continuesAs).toBeUndefined();
    expect(await getRun(p.doc, p.table, runs[1]!.name)).toMatchObject({ continuationStopped: 'CHAIN_LIMIT' });
    expect(await pending()).toHaveLength(MAX);
    expect(await getLock(p.doc, p.table)).toBeUndefined();

    const next = await chain('batch-chain-3-next', { MAX_RUNS_PER_CHAIN: '2' });
    expect(next.map((r) => r.status)).toEqual(['SUCCEEDED']);
    expect(summaryOf(next[0]!)).toMatchObject({ iterations: 1, objects: MAX, truncated: false });
    expect(await pending()).toEqual([]);
  }, 300_000);
});
