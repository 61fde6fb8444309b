/**
 * A Distributed Map item that fails, on the real BatchInference definition (local/runtime/sfn-runner.ts with the
 * Distributed Map emulation, real handlers, moto_server): the execution fails with the map's
 * `States.ExceedToleratedFailureThreshold` as on AWS, and RecordFailure writes the failed item's own error and cause
 * into the run record, read from the map run's FAILED file under the run's ResultWriter folder (the files AWS writes).
 *
 * The item fails on a corrupt artifact its real handler reads: a PrepareSlice task missing from the run's
 * prepare-plan.json. The training workflow's case: training-map-item-failure.test.ts.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { batchKeys, mapRunsPrefix, PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import { BatchState as B } from '../../contracts/states/names';
import { updateApprovalStatus } from '../../lambdas/domain/registry';
import { getRun } from '../../lambdas/domain/tracking';
import { invokeFunction } from '../../local/runtime/lambda-invoke';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import { FAILURE_PATH, ids, Pipeline, snapshot } from '../faults/support/pipeline';
import { describeWithServers } from '../support/servers';

const THRESHOLD = 'States.ExceedToleratedFailureThreshold';

describeWithServers('A failed PrepareSlice item in the run record', { moto: true, redis: true }, (servers) => {
  let p: Pipeline;

  beforeAll(async () => {
    p = new Pipeline({
      handlerEndpoint: servers.moto.endpoint,
      motoEndpoint: servers.moto.endpoint,
      redisUrl: servers.redis.url,
    });
    await p.provision();
    await updateApprovalStatus(p.sm, await p.registerModel('train-1'), 'Approved', 'approved in test');
    // Two days of ~1.2 KB each.
    await p.arrive('inference/dt=2026-11-01/a.csv', snapshot('inference', '2026-11-01', ids('A', 20)));
    await p.arrive('inference/dt=2026-11-02/b.csv', snapshot('inference', '2026-11-02', ids('B', 20)));
  }, 240_000);

  it("records the item's own error and cause; the execution keeps the map's error", async () => {
    const run = 'batch-item-fails';
    const planKey = batchKeys(run).preparePlan;
    // A budget below the two days' bytes: one task per day.
    const env = { ...p.env, PREPARE_BYTES_PER_TASK: '1500' };
    const res = await runStateMachine({
      definition: p.definition,
      functions: p.resources.functions,
      overrides: {
        // The real PlanPrepare, then task 1 goes missing from the plan the PrepareSlice items read.
        [B.PlanPrepare]: async (input) => {
          const out = await invokeFunction(p.fn('lambdas/functions/plan-prepare/handler.ts'), input, { env });
          const plan = JSON.parse(await p.text(`s3://${p.artifactsBucket}/${planKey}`)) as { task: number }[];
          expect(plan).toHaveLength(2);
          plan[1] = { ...plan[1]!, task: 7 };
          await p.s3.send(
            new PutObjectCommand({ Bucket: p.artifactsBucket, Key: planKey, Body: JSON.stringify(plan) }),
          );
          return out;
        },
      },
      input: { trigger: 'test' },
      name: run,
      env,
    });
    expect(res.status).toBe('FAILED');
    expect(res.path.slice(-FAILURE_PATH.length - 1)).toEqual([B.PrepareTasks, ...FAILURE_PATH]);
    expect(res.error?.Error).toBe(THRESHOLD);
    expect(res.error?.Cause).not.toMatch(/prepare task/);

    const listed = await p.s3.send(
      new ListObjectsV2Command({ Bucket: p.artifactsBucket, Prefix: mapRunsPrefix(PREPARE_RESULTS_PREFIX, run) }),
    );
    const failedFile = (listed.Contents ?? []).map((o) => o.Key!).find((k) => k.endsWith('/FAILED_0.json'));
    expect(failedFile).toBeDefined();
    const failed = JSON.parse(
      await (
        await p.s3.send(new GetObjectCommand({ Bucket: p.artifactsBucket, Key: failedFile! }))
      ).Body!.transformToString(),
    ) as { Error: string }[];
    expect(failed.map((f) => f.Error)).toEqual(['ValidationError']);

    const record = await getRun(p.doc, p.table, run);
    expect(record?.status).toBe('FAILED');
    expect(record?.error).toEqual({
      error: 'ValidationError',
      cause:
        `s3://${p.artifactsBucket}/${planKey} has no prepare task 1 ` +
        `[first failed item of PrepareTasks (s3://${p.artifactsBucket}/${failedFile}); ` +
        `the map failed with ${THRESHOLD}: The specified tolerated failure threshold was exceeded (1 of 2 items failed)]`,
    });
  });
});
