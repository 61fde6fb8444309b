/**
 * The prepare fan-out on the real BatchInference definition (moto_server + redis-server, real handlers, the
 * PrepareTasks Distributed Map run by local/runtime/distributed-map.ts): a prepare budget of a few KB splits one day
 * into entity-hash slices and packs the small day whole, so several PrepareSlice items run; the reducer's counts,
 * the loaded scores and the duplicate rule across a sliced day's objects come out as for one piece.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import Redis from 'ioredis';
import { batchKeys, PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import type { PrepareTask } from '../../lambdas/data/prepare-plan';
import type { ValidationReport } from '../../lambdas/data/validation-report';
import { updateApprovalStatus } from '../../lambdas/domain/registry';
import { runStateMachine } from '../../local/runtime/sfn-runner';
import { ids, Pipeline, SUCCESS_PATH, snapshot } from '../faults/support/pipeline';
import { storedScores } from '../support/score-dump';
import { describeWithServers } from '../support/servers';

const RUN = 'batch-fanout-1';

describeWithServers(
  'BatchInference prepare fan-out (several PrepareSlice tasks)',
  { moto: true, redis: true },
  (env) => {
    let p: Pipeline;
    let redis: Redis;
    let day1Bytes = 0;
    const arrive = async (key: string, body: string) => {
      if (key.includes('dt=2026-11-01')) day1Bytes += Buffer.byteLength(body);
      await p.arrive(key, body);
    };

    beforeAll(async () => {
      p = new Pipeline({
        handlerEndpoint: env.moto.endpoint,
        motoEndpoint: env.moto.endpoint,
        redisUrl: env.redis.url,
      });
      redis = new Redis(env.redis.url);
      await redis.flushall();
      await p.provision();
      await updateApprovalStatus(p.sm, await p.registerModel('train-1'), 'Approved', 'approved in test');
      // Day 1: three objects (~30 KB); b.csv repeats 10 of a.csv's customers (a.csv keeps them), c.csv has one bad row.
      await arrive('inference/dt=2026-11-01/a.csv', snapshot('inference', '2026-11-01', ids('A', 150)));
      await arrive(
        'inference/dt=2026-11-01/b.csv',
        snapshot('inference', '2026-11-01', [...ids('A', 10, 100), ...ids('B', 110)]),
      );
      await arrive(
        'inference/dt=2026-11-01/c.csv',
        snapshot('inference', '2026-11-01', ids('C', 80), (i, row) => {
          if (i === 4) row.plan = 'gold';
        }),
      );
      // Day 2: small, packed whole into one task.
      await arrive('inference/dt=2026-11-02/d.csv', snapshot('inference', '2026-11-02', ids('D', 30)));
    }, 240_000);

    afterAll(async () => {
      await redis?.quit();
    });

    it('plans several tasks, runs them as Distributed Map items and loads every valid row once', async () => {
      const res = await runStateMachine({
        definition: p.definition,
        functions: p.resources.functions,
        overrides: { Transform: p.transform() },
        input: { trigger: 'test' },
        name: RUN,
        // A third of day 1 per task: 3 slices; day 2 (~2 KB) whole.
        env: { ...p.env, PREPARE_BYTES_PER_TASK: String(Math.ceil(day1Bytes / 3)) },
      });
      expect(res.error).toBeUndefined();
      expect(res.path).toEqual(SUCCESS_PATH);

      const tasks = JSON.parse(await p.text(`s3://${p.artifactsBucket}/${batchKeys(RUN).prepareTasks}`)) as {
        task: number;
        slice: number;
        slices: number;
        objects: number;
      }[];
      // The Map's items are small (counts only); each task's objects are in prepare-plan.json.
      expect(tasks.map((t) => [t.slice, t.slices, t.objects])).toEqual([
        [0, 3, 3],
        [1, 3, 3],
        [2, 3, 3],
        [0, 1, 1],
      ]);
      const plan = JSON.parse(await p.text(`s3://${p.artifactsBucket}/${batchKeys(RUN).preparePlan}`)) as PrepareTask[];
      expect(plan[1]!.objects.map((o) => o.key.slice(-5))).toEqual(['a.csv', 'b.csv', 'c.csv']);
      // Each task left its partial result, and the Map's ResultWriter its results.
      const listed = async (prefix: string) =>
        ((await p.s3.send(new ListObjectsV2Command({ Bucket: p.artifactsBucket, Prefix: prefix }))).Contents ?? []).map(
          (o) => o.Key!,
        );
      expect(await listed(`${batchKeys(RUN).prefix}prepare/`)).toHaveLength(4);
      expect((await listed(PREPARE_RESULTS_PREFIX)).some((k) => k.endsWith('/manifest.json'))).toBe(true);
      // Parts carry their task's index.
      const manifest = JSON.parse(await p.text(`s3://${p.artifactsBucket}/${batchKeys(RUN).manifest}`)) as unknown[];
      const parts = manifest.slice(1) as string[];
      expect(new Set(parts.map((n) => n.slice(5, 10)))).toEqual(new Set(['00000', '00001', '00002', '00003']));

      // 150 + 120 + 80 + 30 rows; 10 repeated customers of b.csv and c.csv's bad row quarantined.
      expect(res.output).toMatchObject({
        status: 'SUCCEEDED',
        summary: {
          objects: 4,
          objectsQuarantined: 0,
          rowsIn: 380,
          rowsUsed: 369,
          rowsQuarantined: 11,
          rowsLoaded: 369,
        },
      });
      const report = JSON.parse(
        await p.text(`s3://${p.artifactsBucket}/reports/${RUN}/validation.json`),
      ) as ValidationReport;
      expect(report.countsByRule).toEqual({ duplicate_entity: 10, unknown_category: 1 });
      expect(report.files.map((f) => [f.file.slice(-5), f.rowsIn, f.rowsValid])).toEqual([
        ['a.csv', 150, 150],
        ['b.csv', 120, 110],
        ['c.csv', 80, 79],
        ['d.csv', 30, 30],
      ]);
      const scores = await storedScores(redis);
      expect(Object.keys(scores)).toHaveLength(369);
      // The repeated customers were scored from a.csv's rows (the first object of the day in key order).
      expect(scores['score:A00100']).toContain('|2026-11-01|');
    });
  },
);
