/**
 * The operator CLI (`bin/mlops-batch.ts` `main`) in-process with `--local --json` against moto_server and
 * redis-server, on the resources of the synthesized app provisioned exactly as `npm run local` does. Every command's
 * effect is read back from the registry, the table, the buckets and Redis.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { resolveLocalTarget } from '../../cli/local-target';
import { ledgerKey } from '../../contracts/table-keys';
import { createModel, getModel } from '../../lambdas/domain/model-records';
import { createModelPackage, findPackageByVersion } from '../../lambdas/domain/registry';
import { ScoreWriter, writeRunSummary } from '../../lambdas/domain/score-store/redis';
import { createRun } from '../../lambdas/domain/tracking';
import { LOCAL_IMAGE_URI } from '../../local/standins/model';
import { describeWithServers } from '../support/servers';
import { cli, cliText, expectFailure, rows, setUp, withRedis } from './helpers';

jest.setTimeout(120_000);

describeWithServers(
  'mlops-batch commands (--local) against moto_server and redis-server',
  { moto: true, redis: true },
  (env) => {
    let s: Awaited<ReturnType<typeof setUp>>;

    beforeAll(async () => {
      s = await setUp(env.moto.endpoint);
    });

    /** A training run record plus its registered package and MODEL# record (what RegisterModel writes). */
    async function register(runId: string, metrics: { auc: number; logloss: number }): Promise<number> {
      await createRun(s.c.doc, s.table, { runId, kind: 'training', trigger: 'test', codeVersion: 'test' });
      const base = `s3://${s.artifacts}`;
      const pkg = await createModelPackage(s.c.sm, {
        groupName: s.group,
        runId,
        codeVersion: 'test',
        dataWindow: '2026-10-30..2026-10-31',
        imageUri: LOCAL_IMAGE_URI,
        modelDataUrl: `${base}/training/${runId}/output/model.tar.gz`,
        preprocessingUri: `${base}/training/${runId}/preprocessing.json`,
        trainingStatsUri: `${base}/reports/${runId}/stats.json`,
        evaluationReportUri: `${base}/reports/${runId}/evaluation.json`,
        metrics,
        transformInstanceTypes: ['ml.m5.large'],
      });
      await createModel(s.c.doc, s.table, { version: pkg.version, runId, modelPackageArn: pkg.arn });
      return pkg.version;
    }

    it('models: none registered yet → an empty list', async () => {
      const r = await cli('models');
      expect(r.code).toBe(0);
      expect(r.json).toEqual([]);
    });

    it('runs: none yet → an empty list', async () => {
      const r = await cli('runs');
      expect(r.code).toBe(0);
      expect(r.json).toEqual([]);
    });

    it('models: a registered version with its status, metrics and run', async () => {
      const v = await register('train-20261101T000000Z-aaaa', { auc: 0.81, logloss: 0.42 });
      const r = await cli('models');
      expect(r.code).toBe(0);
      expect(rows(r.json)).toEqual([
        expect.objectContaining({
          version: v,
          status: 'PendingManualApproval',
          production: false,
          auc: 0.81,
          logloss: 0.42,
          runId: 'train-20261101T000000Z-aaaa',
        }),
      ]);
    });

    it('models (human): a version awaiting approval says when it was registered, not "by unknown"', async () => {
      const r = await cliText('models');
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(
        /^VERSION +STATUS +PROD +AUC +LOGLOSS +RUN +LAST CHANGE\n1 +PendingManualApproval +0\.8100 +0\.4200 +train-20261101T000000Z-aaaa +registered at \d{4}-\d\d-\d\dT[\d:.]+Z\n$/,
      );
      expect(r.stdout).not.toContain('unknown');
    });

    it('approve <v> --reason: registry Approved, approval history appended with who, Production = v', async () => {
      const r = await cli('approve', '1', '--reason', 'AUC 0.81 beats the baseline');
      expect(r.code).toBe(0);
      expect(r.json).toEqual(
        expect.objectContaining({
          version: 1,
          previousStatus: 'PendingManualApproval',
          status: 'Approved',
          productionVersion: 1,
        }),
      );
      const pkg = await findPackageByVersion(s.c.sm, s.group, 1);
      expect(pkg.status).toBe('Approved');
      const model = await getModel(s.c.doc, s.table, 1);
      expect(model?.approvalStatus).toBe('Approved');
      expect(model?.approvals.at(-1)).toEqual(
        expect.objectContaining({
          status: 'Approved',
          reason: 'AUC 0.81 beats the baseline',
          by: expect.stringMatching(/^local:/),
        }),
      );
      const listed = rows((await cli('models')).json);
      expect(listed[0]).toEqual(
        expect.objectContaining({
          version: 1,
          status: 'Approved',
          production: true,
          lastChange: expect.objectContaining({ status: 'Approved', by: expect.stringMatching(/^local:/) }),
        }),
      );
    });

    it('approve of an already Approved version → exit 1, one line, registry unchanged', async () => {
      const r = await cli('approve', '1');
      expectFailure(r, 1, /Model version 1 is already Approved/);
      expect((await findPackageByVersion(s.c.sm, s.group, 1)).status).toBe('Approved');
    });

    it('reject <v> of the Production version rolls back to the previous Approved one and records it', async () => {
      const v2 = await register('train-20261102T000000Z-bbbb', { auc: 0.83, logloss: 0.4 });
      expect(v2).toBe(2);
      expect((await cli('approve', '2')).json).toEqual(expect.objectContaining({ productionVersion: 2 }));

      const r = await cli('reject', '2', '--reason', 'drift in production');
      expect(r.code).toBe(0);
      expect(r.json).toEqual(
        expect.objectContaining({ version: 2, previousStatus: 'Approved', status: 'Rejected', productionVersion: 1 }),
      );
      expect((await findPackageByVersion(s.c.sm, s.group, 2)).status).toBe('Rejected');
      const m2 = await getModel(s.c.doc, s.table, 2);
      expect(m2?.approvalStatus).toBe('Rejected');
      expect(m2?.approvals.at(-1)?.reason).toMatch(
        /drift in production \| rollback: Production was version 2, is now version 1/,
      );
      const m1 = await getModel(s.c.doc, s.table, 1);
      expect(m1?.approvals.at(-1)).toEqual(
        expect.objectContaining({
          status: 'Approved',
          reason: expect.stringMatching(/after version 2 was rejected \(rollback\)/),
        }),
      );
      const listed = rows((await cli('models')).json);
      expect(listed.map((m) => [m.version, m.status, m.production])).toEqual([
        [2, 'Rejected', false],
        [1, 'Approved', true],
      ]);
    });

    it('approve / reject of a version that does not exist → exit 1 naming the group and the version', async () => {
      for (const cmd of ['approve', 'reject']) {
        const r = await cli(cmd, '99');
        expectFailure(r, 1, new RegExp(`Model package group ${s.group} has no version 99`));
      }
    });

    it('runs [--kind]: newest first, filtered by kind', async () => {
      await createRun(s.c.doc, s.table, {
        runId: 'batch-20261103T000000Z-cccc',
        kind: 'batch',
        trigger: 'test',
        codeVersion: 'test',
      });
      const all = rows((await cli('runs')).json);
      expect(all.map((x) => [x.runId, x.kind])).toEqual([
        ['batch-20261103T000000Z-cccc', 'batch'],
        ['train-20261102T000000Z-bbbb', 'training'],
        ['train-20261101T000000Z-aaaa', 'training'],
      ]);
      const batch = rows((await cli('runs', '--kind', 'batch')).json);
      expect(batch.map((x) => x.runId)).toEqual(['batch-20261103T000000Z-cccc']);
      const training = rows((await cli('runs', '--kind', 'training', '--limit', '1')).json);
      expect(training.map((x) => x.runId)).toEqual(['train-20261102T000000Z-bbbb']);
    });

    it('reconcile [--from --to]: objects in the features bucket become PENDING in the ledger; counts in JSON', async () => {
      const keys = [
        'inference/dt=2026-11-02/part-0.csv',
        'inference/dt=2026-11-03/part-0.csv',
        'inference/dt=2026-11-05/part-0.csv',
      ];
      for (const key of keys) {
        await s.c.s3.send(new PutObjectCommand({ Bucket: s.features, Key: key, Body: 'customer_id,as_of\nC1,x\n' }));
      }
      const status = async (key: string) =>
        (await s.c.doc.send(new GetCommand({ TableName: s.table, Key: ledgerKey(key) }))).Item?.status;

      const ranged = await cli('reconcile', '--from', '2026-11-02', '--to', '2026-11-03');
      expect(ranged.code).toBe(0);
      expect(ranged.json).toEqual(
        expect.objectContaining({ bucket: s.features, listed: 2, new: 2, requeued: 0, unchanged: 0 }),
      );
      expect(await Promise.all(keys.map(status))).toEqual(['PENDING', 'PENDING', undefined]);

      const all = await cli('reconcile');
      expect(all.json).toEqual(expect.objectContaining({ listed: 3, new: 1, unchanged: 2 }));
      expect(await Promise.all(keys.map(status))).toEqual(['PENDING', 'PENDING', 'PENDING']);
    });

    it('reconcile with a prefix outside inference/ → exit 2, one line', async () => {
      expectFailure(await cli('reconcile', '--prefix', 'training/'), 2, /inference\//);
    });

    it('score <id...> [--segment]: known id → the model score, unknown id → the (segment) fallback', async () => {
      const stamp = { asOf: '2026-11-03', runId: 'batch-20261103T000000Z-cccc', modelVersion: '1' };
      await withRedis(env.redis.url, async (redis) => {
        const writer = new ScoreWriter(redis, { stamp, ttlSeconds: 3600 });
        await writer.add('C0000001', '0.731200');
        await writer.finish();
        await writeRunSummary(redis, stamp, {
          global: { count: 4, sum: 1.2 },
          segments: { premium: { count: 2, sum: 1.5 } },
          rows: 4,
          loadedAt: new Date().toISOString(),
        });
      });
      const r = await cli('score', 'C0000001', 'NEW-0001');
      expect(r.code).toBe(0);
      const items = rows((r.json as { items: unknown }).items);
      expect(items).toEqual([
        expect.objectContaining({
          entityId: 'C0000001',
          source: 'model',
          score: 0.7312,
          modelVersion: '1',
          asOf: '2026-11-03',
        }),
        expect.objectContaining({ entityId: 'NEW-0001', source: 'fallback', score: 0.3 }),
      ]);
      const seg = await cli('score', 'NEW-0001', '--segment', 'premium');
      expect(rows((seg.json as { items: unknown }).items)).toEqual([
        expect.objectContaining({ entityId: 'NEW-0001', source: 'fallback', score: 0.75 }),
      ]);
    });

    it('score of an invalid entity id or segment → exit 2, one line naming it', async () => {
      expectFailure(await cli('score', 'bad id!'), 2, /bad id!/);
      expectFailure(await cli('score', 'C0000001', '--segment', 'no such/segment'), 2, /no such\/segment/);
    });

    it('score (human): the SOURCE column says which fallback answered, per segment or global', async () => {
      const plain = await cliText('score', 'C0000001', 'NEW-0001');
      expect({ code: plain.code, stderr: plain.stderr }).toEqual({ code: 0, stderr: '' });
      expect(plain.stdout.split('\n')).toEqual([
        expect.stringMatching(/^ENTITY +SCORE +SOURCE +MODEL +AS OF$/),
        expect.stringMatching(/^C0000001 +0\.731200 +model +1 +2026-11-03$/),
        expect.stringMatching(/^NEW-0001 +0\.300000 +global fallback +1 +2026-11-03$/),
        '',
      ]);
      const seg = await cliText('score', 'NEW-0001', '--segment', 'premium');
      expect(seg.stdout).toMatch(/\nNEW-0001 +0\.750000 +segment fallback \(premium\) +1 /);
      const noSeg = await cliText('score', 'NEW-0001', '--segment', 'basic');
      expect(noSeg.stdout).toMatch(/\nNEW-0001 +0\.300000 +global fallback \(no record for segment basic\) +1 /);
    });

    it('score of an empty id names the command-line argument, not the API field', async () => {
      const r = await cli('score', '');
      expectFailure(r, 2, /^mlops-batch: argument <id> "" is not a valid entity id: expected 1-64 characters/);
      expect(r.stderr).not.toContain('body.');
      expectFailure(
        await cli('score', 'C1', 'bad id'),
        2,
        /^mlops-batch: argument <id> #2 "bad id" is not a valid entity id/,
      );
    });

    it('score with Redis down → exit 1, exactly one line (no ioredis retries or stack traces)', async () => {
      const saved = process.env.REDIS_URL;
      process.env.REDIS_URL = 'redis://127.0.0.1:1';
      try {
        const r = await cli('score', 'C0000001');
        expectFailure(
          r,
          1,
          /^mlops-batch: Redis at redis:\/\/127\.0\.0\.1:1 is unreachable \(.*ECONNREFUSED.*\); is the local runtime still running\?/,
        );
      } finally {
        process.env.REDIS_URL = saved;
      }
    });

    it('--env of an environment cdk.json does not define → exit 2 (a usage error), one line listing the known ones', async () => {
      expectFailure(
        await cli('--env', 'nope', 'runs'),
        2,
        /^mlops-batch: --env "nope" is not an environment of cdk\.json \(context\.environments\): expected one of dev/,
      );
    });

    it('--local finds the resources in the stack outputs provision published in moto (no synthesis); else synthesizes', async () => {
      const published = await resolveLocalTarget('dev', 'mlops-batch');
      expect(published.source).toBe('published');
      expect(published.outputs).toEqual(
        expect.objectContaining({ TableName: s.table, ModelPackageGroupName: s.group, FeaturesBucketName: s.features }),
      );
      // Nothing was published for prod in this moto: its outputs come from the synthesized app.
      const synthesized = await resolveLocalTarget('prod', 'mlops-batch');
      expect(synthesized.source).toBe('synthesized');
      expect(synthesized.outputs.TableName).toMatch(/prod/);
    });
  },
);
