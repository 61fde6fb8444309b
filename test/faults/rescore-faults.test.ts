/**
 * Fault suite, rescoring: the synthesized BatchInference state machine run with the real handlers
 * (local/runtime/sfn-runner.ts) against moto_server and redis-server while the Production version changes. Production
 * changes go through the real approval handler (the registry update, then the registry's state-change event), as
 * `mlops-batch approve|reject` and the console do; served scores are read through the read API's core with the
 * Production pointer it reads. Scenarios build on each other in order (one ledger, one score store).
 *
 * The partitions are dated the last three days, so they are inside the rescore window (the score TTL).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { BatchState as S } from '../../contracts/states/names';
import { getLedgerItem } from '../../lambdas/domain/ledger';
import { getLock } from '../../lambdas/domain/lock';
import { createModel } from '../../lambdas/domain/model-records';
import { getProduction } from '../../lambdas/domain/production';
import { type ApprovalStatus, updateApprovalStatus } from '../../lambdas/domain/registry';
import { RedisScoreStore } from '../../lambdas/domain/score-store/redis';
import { createRun, getRun } from '../../lambdas/domain/tracking';
import { readScores } from '../../lambdas/functions/read-scores/core';
import { modelPackageStateChangeEvent } from '../../local/runtime/approval';
import type { StateOverride } from '../../local/runtime/task-handlers';
import { describeWithServers } from '../support/servers';
import { FAILURE_PATH, ids, Pipeline, SUCCESS_PATH, snapshot } from './support/pipeline';

const APPROVAL_HANDLER = 'lambdas/functions/approval-event/handler.ts';
const day = (back: number) => new Date(Date.now() - back * 86_400_000).toISOString().slice(0, 10);
const D1 = day(3);
const D2 = day(2);
const KEYS = [`inference/dt=${D1}/a.csv`, `inference/dt=${D1}/b.csv`, `inference/dt=${D2}/c.csv`];
/** A-customers are in D1 and (newer) D2; B-customers only in D1. */
const ENTITIES = [...ids('A', 60), ...ids('B', 40)];

/** What the read API serves for every entity right now. */
interface Census {
  /** `model:<version>:<production>` or `fallback:<reason>` → count. */
  readonly served: Record<string, number>;
  readonly notFound: number;
}

describeWithServers(
  'fault suite: rescoring while Production changes (moto + redis-server)',
  { moto: true, redis: true },
  (env) => {
    let p: Pipeline;
    let redis: Redis;
    const arns = new Map<number, string>();

    const census = async (): Promise<Census> => {
      const production = await getProduction(p.doc, p.table);
      const res = await readScores(new RedisScoreStore(redis), { ids: ENTITIES }, production ? { production } : {});
      const served: Record<string, number> = {};
      for (const it of res.items) {
        const k = it.source === 'model' ? `model:${it.modelVersion}:${it.production}` : `fallback:${it.fallbackReason}`;
        served[k] = (served[k] ?? 0) + 1;
      }
      return { served, notFound: res.notFound.length };
    };
    const allFrom = (version: number): Census => ({
      served: { [`model:${version}:true`]: ENTITIES.length },
      notFound: 0,
    });
    const ledgerOf = async (doc: DynamoDBDocumentClient) =>
      Promise.all(KEYS.map(async (k) => ({ key: k, ...(await getLedgerItem(doc, p.table, k)) })));
    const expectLedger = async (runId: string, modelVersion: number) => {
      for (const item of await ledgerOf(p.doc)) {
        expect(item).toMatchObject({ key: item.key, status: 'SCORED', runId, modelVersion });
      }
    };
    const transformedWith = () => [...new Set(p.transformCalls.map((c) => /-v(\d+)$/.exec(c.ModelName)?.[1]))];

    /** A registered, tracked version (training run record + model record, as RegisterModel leaves them). */
    const register = async (version: number) => {
      const runId = `train-${version}`;
      await createRun(p.doc, p.table, { runId, kind: 'training', trigger: 'test', codeVersion: 'test' });
      const arn = await p.registerModel(runId);
      await createModel(p.doc, p.table, { version, runId, modelPackageArn: arn });
      arns.set(version, arn);
    };
    /** The registry update, then its state-change event to the real approval handler (EventBridge's part). */
    const setStatus = async (version: number, status: ApprovalStatus) => {
      const pkg = await updateApprovalStatus(p.sm, arns.get(version)!, status, 'rescore fault suite');
      return (await p.invoke(APPROVAL_HANDLER, modelPackageStateChangeEvent(pkg, { by: 'test' }))) as {
        action: string;
        productionVersion?: number | null;
      };
    };
    const runOk = async (name: string, overrides: Record<string, StateOverride> = {}) => {
      const r = await p.run(name, overrides);
      expect(r.error).toBeUndefined();
      return r;
    };

    beforeAll(async () => {
      redis = new Redis(env.redis.url, { maxRetriesPerRequest: 1 });
      p = new Pipeline({
        handlerEndpoint: env.moto.endpoint,
        motoEndpoint: env.moto.endpoint,
        redisUrl: env.redis.url,
      });
      await p.provision();
      await register(1);
      expect(await setStatus(1, 'Approved')).toMatchObject({ action: 'approved', productionVersion: 1 });
      await p.arrive(KEYS[0]!, snapshot('inference', D1, ids('A', 60)));
      await p.arrive(KEYS[1]!, snapshot('inference', D1, ids('B', 40)));
      await p.arrive(KEYS[2]!, snapshot('inference', D2, ids('A', 60)));
      const base = await runOk('batch-r01-base');
      expect(base.path).toEqual(SUCCESS_PATH);
      await expectLedger('batch-r01-base', 1);
      expect(await census()).toEqual(allFrom(1));
    }, 180_000);

    afterAll(() => {
      redis?.disconnect();
    });

    beforeEach(() => {
      p.transformCalls.length = 0;
    });

    it('a rescoring run that fails midway (one part fails after another loaded): every served score is from an approved version, the ledger unchanged, lock released; the rerun converges to version 2', async () => {
      await register(2);
      expect(await setStatus(2, 'Approved')).toMatchObject({ action: 'approved', productionVersion: 2 });
      // Approved, not yet rescored: the old version serves, labelled not Production.
      expect(await census()).toEqual({ served: { 'model:1:false': ENTITIES.length }, notFound: 0 });

      const loaded: Promise<unknown>[] = [];
      const parts: string[] = [];
      const failAfterAnotherLoaded: StateOverride = async (input) => {
        const part = String((input as { part: string }).part);
        parts.push(part);
        if (parts.length < 3) {
          const load = p.loadPart(input);
          loaded.push(load);
          return load;
        }
        // The last part fails only once the others have written their rows (a run cut off midway).
        await Promise.all(loaded);
        throw Object.assign(new Error(`injected: ${part} lost midway`), { name: 'InjectedFault' });
      };
      const failed = await p.run('batch-r02-rescore-fails', { [S.LoadPart]: failAfterAnotherLoaded });
      expect(failed.status).toBe('FAILED');
      expect(failed.path.slice(-FAILURE_PATH.length)).toEqual(FAILURE_PATH);
      expect(failed.path).toContain(S.LoadScores);
      // The map's error is the execution's; the failed part's own error is in the run record (from its FAILED file).
      expect(failed.error?.Error).toBe('States.ExceedToleratedFailureThreshold');
      expect((await getRun(p.doc, p.table, 'batch-r02-rescore-fails'))?.error).toMatchObject({
        error: 'InjectedFault',
        cause: expect.stringMatching(/^injected: part-\S+ lost midway \[first failed item of LoadScores /),
      });
      expect(transformedWith()).toEqual(['2']);
      // Ledger: nothing committed; every object still scored by the base run with version 1.
      await expectLedger('batch-r01-base', 1);
      expect(await getLock(p.doc, p.table)).toBeUndefined();
      // Served: only approved versions (version 2 where its parts loaded, version 1 elsewhere), every entity a model score.
      const mid = await census();
      expect(mid.notFound).toBe(0);
      expect(Object.keys(mid.served).every((k) => k === 'model:1:false' || k === 'model:2:true')).toBe(true);
      expect(mid.served['model:2:true']).toBeGreaterThan(0);
      expect(Object.values(mid.served).reduce((a, b) => a + b, 0)).toBe(ENTITIES.length);

      // The rerun selects the same objects again and converges: every object by version 2, every entity served from it.
      const rerun = await runOk('batch-r03-rescore-rerun');
      expect(rerun.path).toEqual(SUCCESS_PATH);
      expect(rerun.output).toMatchObject({ summary: { modelVersion: 2, objects: 3, rowsLoaded: 160 } });
      await expectLedger('batch-r03-rescore-rerun', 2);
      expect(await census()).toEqual(allFrom(2));
      const next = await runOk('batch-r04-nothing-due');
      expect(next.path).toContain(S.NothingToScore);
    });

    it('a rollback while a rescore runs: the run commits, but no entity is served the rejected version as a model score; the next run restores the previous version everywhere', async () => {
      await register(3);
      expect(await setStatus(3, 'Approved')).toMatchObject({ action: 'approved', productionVersion: 3 });
      let rollback: ReturnType<typeof setStatus> | undefined;
      // Version 3 is rejected while its rescore is in flight (after the transform, before the scores load).
      const rejectDuringLoad: StateOverride = async (input) => {
        rollback ??= setStatus(3, 'Rejected');
        await rollback;
        return p.loadPart(input);
      };
      const during = await runOk('batch-r05-rescore-v3', { [S.LoadPart]: rejectDuringLoad });
      expect(await rollback).toMatchObject({ action: 'rollback', productionVersion: 2 });
      expect(transformedWith()).toEqual(['3']);
      // The run still committed its objects (scored by version 3, which is no longer Production).
      await expectLedger('batch-r05-rescore-v3', 3);
      expect((await getProduction(p.doc, p.table))?.rejected).toEqual([3]);
      // Every entity whose stored score is version 3 gets the fallback, labelled; none is a version-3 model score.
      const gap = await census();
      expect(gap).toEqual({ served: { 'fallback:model-version-rejected': ENTITIES.length }, notFound: 0 });
      // The fallback records were not recomputed from the rejected version's scores.
      const fb = await new RedisScoreStore(redis).getFallbacks();
      expect(fb.global?.modelVersion).toBe('2');
      expect(during.output).toMatchObject({ summary: { modelVersion: 3 } });

      p.transformCalls.length = 0;
      const restore = await runOk('batch-r06-after-rollback');
      expect(restore.path).toEqual(SUCCESS_PATH);
      expect(transformedWith()).toEqual(['2']);
      await expectLedger('batch-r06-after-rollback', 2);
      expect(await census()).toEqual(allFrom(2));
    });

    it('two Production changes in a row before a run: only the last one is rescored; approved-then-rejected before any run leaves nothing due', async () => {
      await register(4);
      await register(5);
      expect(await setStatus(4, 'Approved')).toMatchObject({ productionVersion: 4 });
      expect(await setStatus(5, 'Approved')).toMatchObject({ productionVersion: 5 });
      const run = await runOk('batch-r07-two-changes');
      expect(run.path).toEqual(SUCCESS_PATH);
      expect(transformedWith()).toEqual(['5']);
      await expectLedger('batch-r07-two-changes', 5);
      expect(await census()).toEqual(allFrom(5));

      // Version 6 approved and rejected again before any run: Production is version 5 throughout, nothing is due.
      await register(6);
      expect(await setStatus(6, 'Approved')).toMatchObject({ productionVersion: 6 });
      expect(await setStatus(6, 'Rejected')).toMatchObject({ action: 'rollback', productionVersion: 5 });
      p.transformCalls.length = 0;
      const after = await runOk('batch-r08-nothing-due');
      expect(after.path).toContain(S.NothingToScore);
      expect(p.transformCalls).toEqual([]);
      await expectLedger('batch-r07-two-changes', 5);
      expect(await census()).toEqual(allFrom(5));
    });
  },
);
