/**
 * `mlops-batch --local train | batch`: the synthesized Training and BatchInference state machines run in-process
 * (real handlers, local trainer and transformer) against moto_server and redis-server, with a few hundred customers
 * of generated sample data.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerKey } from '../../contracts/table-keys';
import { findPackageByVersion } from '../../lambdas/domain/registry';
import { generateSampleData } from '../../local/demo/sample-data';
import { describeWithServers } from '../support/servers';
import { cli, cliText, expectFailure, rows, setUp } from './helpers';

jest.setTimeout(240_000);

describeWithServers(
  'mlops-batch --local train | batch (the synthesized state machines in-process)',
  { moto: true, redis: true },
  (env) => {
    let s: Awaited<ReturnType<typeof setUp>>;
    const data = generateSampleData({ customers: 300, seed: 11 });
    const inferenceKeys = data.files
      .filter((f) => f.kind === 'inference' && f.phase === 'initial')
      .map((f) => f.key)
      .sort();
    const ledgerStatus = async (key: string) =>
      (await s.c.doc.send(new GetCommand({ TableName: s.table, Key: ledgerKey(key) }))).Item?.status as
        | string
        | undefined;

    beforeAll(async () => {
      s = await setUp(env.moto.endpoint);
      for (const f of data.files.filter((x) => x.phase === 'initial')) {
        await s.c.s3.send(new PutObjectCommand({ Bucket: s.features, Key: f.key, Body: f.body }));
      }
      // Register the inference objects as the arrival events would (through the CLI's reconcile).
      const r = await cli('reconcile');
      expect(r.json).toEqual(expect.objectContaining({ new: inferenceKeys.length }));
    });

    it('train --wait: runs Training to the end and registers a PendingManualApproval package', async () => {
      const r = await cli('train', '--wait', '--run-id', 'train-20261106T000000Z-test');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const res = r.json as { runId: string; status: string; path: string[] };
      expect(res).toEqual(expect.objectContaining({ runId: 'train-20261106T000000Z-test', status: 'SUCCEEDED' }));
      expect(res.path).toEqual(
        expect.arrayContaining(['StartRun', 'Train', 'ModelGate', 'RegisterModel', 'CompleteRun']),
      );

      const pkg = await findPackageByVersion(s.c.sm, s.group, 1);
      expect(pkg).toEqual(expect.objectContaining({ status: 'PendingManualApproval', runId: res.runId }));
      expect(pkg.metrics.auc).toBeGreaterThan(0.6);
      const listed = rows((await cli('models')).json);
      expect(listed).toEqual([
        expect.objectContaining({ version: 1, status: 'PendingManualApproval', runId: res.runId }),
      ]);
      const runs = rows((await cli('runs', '--kind', 'training')).json);
      expect(runs).toEqual([expect.objectContaining({ runId: res.runId, status: 'SUCCEEDED', trigger: 'cli' })]);
    });

    it('batch before any approval: the execution fails → exit 1 with its error and cause on one line; ledger untouched', async () => {
      const r = await cli('batch', '--run-id', 'batch-20261106T000000Z-fail');
      expectFailure(
        r,
        1,
        /batch run batch-20261106T000000Z-fail FAILED after .*ResolveModel.*: NotFoundError: no approved model version in group/,
      );
      expect(await Promise.all(inferenceKeys.map(ledgerStatus))).toEqual(inferenceKeys.map(() => 'PENDING'));
      const runs = rows((await cli('runs', '--kind', 'batch')).json);
      expect(runs).toEqual([expect.objectContaining({ runId: 'batch-20261106T000000Z-fail', status: 'FAILED' })]);
    });

    it('batch --wait after approve: scores exactly the PENDING objects; the scores are readable', async () => {
      const approved = await cli('approve', '1', '--reason', 'local test');
      expect(approved.stderr).toBe('');
      expect(approved.json).toEqual(expect.objectContaining({ status: 'Approved', productionVersion: 1 }));
      const r = await cli('batch', '--wait');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const res = r.json as { runId: string; status: string; path: string[] };
      expect(res.status).toBe('SUCCEEDED');
      expect(res.runId).toMatch(/^batch-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
      expect(res.path).toEqual(
        expect.arrayContaining([
          'AcquireLock',
          'FindUnscored',
          'Transform',
          'LoadScores',
          'FinalizeScores',
          'CommitLedger',
        ]),
      );
      expect(await Promise.all(inferenceKeys.map(ledgerStatus))).toEqual(inferenceKeys.map(() => 'SCORED'));

      const known = data.customerIds[0]!;
      const scored = rows(((await cli('score', known, 'NEW-0001')).json as { items: unknown }).items);
      expect(scored).toEqual([
        expect.objectContaining({
          entityId: known,
          source: 'model',
          modelVersion: '1',
          asOf: data.inferenceDates.at(-1),
        }),
        expect.objectContaining({ entityId: 'NEW-0001', source: 'fallback', modelVersion: '1' }),
      ]);
    });

    it('batch again: nothing PENDING → the run takes the no-work path', async () => {
      const r = await cli('batch');
      expect(r.code).toBe(0);
      const res = r.json as { status: string; path: string[] };
      expect(res.status).toBe('SUCCEEDED');
      expect(res.path).not.toContain('Transform');
      expect(res.path).toContain('FindUnscored');

      const text = await cliText('batch', '--wait');
      expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 0, stderr: '' });
      expect(text.stdout).toMatch(
        /^batch run batch-\d{8}T\d{6}Z-[0-9a-f]{4}: SUCCEEDED\n {2}path: AcquireLock → .*FindUnscored → HasWork\? → .+\n$/,
      );
      expect(text.stdout).not.toContain('Transform');
    });
  },
);
