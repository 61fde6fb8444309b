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

    it('batch before any approval: the execution fails → exit 1, its summary as JSON on stdout, one line on stderr; ledger untouched', async () => {
      const r = await cli('batch', '--run-id', 'batch-20261106T000000Z-fail');
      expect(r.code).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^mlops-batch: batch run batch-20261106T000000Z-fail FAILED after .*ResolveModel.*: NotFoundError: no approved model version in group .*\(details: mlops-batch runs show batch-20261106T000000Z-fail\)$/,
      );
      expect(r.json).toEqual(
        expect.objectContaining({
          runId: 'batch-20261106T000000Z-fail',
          status: 'FAILED',
          error: 'NotFoundError',
          run: expect.objectContaining({
            run: expect.objectContaining({
              status: 'FAILED',
              error: expect.objectContaining({ error: 'NotFoundError' }),
            }),
          }),
        }),
      );
      expect(await Promise.all(inferenceKeys.map(ledgerStatus))).toEqual(inferenceKeys.map(() => 'PENDING'));
      const runs = rows((await cli('runs', '--kind', 'batch')).json);
      expect(runs).toEqual([
        expect.objectContaining({
          runId: 'batch-20261106T000000Z-fail',
          status: 'FAILED',
          error: expect.stringMatching(/^NotFoundError: no approved model version in group/),
        }),
      ]);
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

    it('batch over a file whose rows break the contract: exit 1; the summary names the rule, the counts and the report', async () => {
      // An inference file filed under another day: every row's as_of differs from its dt= partition.
      const source = data.files.find((f) => f.kind === 'inference' && f.phase === 'initial')!;
      const key = 'inference/dt=2026-11-09/part-0.csv';
      await s.c.s3.send(new PutObjectCommand({ Bucket: s.features, Key: key, Body: source.body }));
      expect((await cli('reconcile')).json).toEqual(expect.objectContaining({ new: 1 }));

      const runId = 'batch-20261109T000000Z-asof';
      const r = await cli('batch', '--run-id', runId);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          /ValidationError: Invalid row ratio 1\.0000 exceeds maxInvalidRowRatio .*as_of_mismatch=\d+/,
        ),
      ]);
      const doc = r.json as {
        status: string;
        run: { validation: Record<string, unknown>; locations: Record<string, string> };
      };
      expect(doc.status).toBe('FAILED');
      expect(doc.run.validation).toEqual(
        expect.objectContaining({
          status: 'failed',
          invalidRowRatio: 1,
          countsByRule: expect.objectContaining({ as_of_mismatch: expect.any(Number) }),
          firstViolations: expect.arrayContaining([expect.objectContaining({ file: key, rule: 'as_of_mismatch' })]),
        }),
      );
      expect(doc.run.locations.validation).toBe(`s3://${s.artifacts}/reports/${runId}/validation.json`);
      expect(await ledgerStatus(key)).toBe('PENDING');

      // The same summary for people, from `runs show`, and the failed run's short error in `runs`.
      const shown = await cliText('runs', 'show', runId);
      expect({ code: shown.code, stderr: shown.stderr }).toEqual({ code: 0, stderr: '' });
      expect(shown.stdout).toMatch(new RegExp(`^run ${runId} {2}batch {2}FAILED\n`));
      expect(shown.stdout).toMatch(/\n {2}error {7}ValidationError\n {2}cause {7}Invalid row ratio 1\.0000 exceeds/);
      expect(shown.stdout).toMatch(
        /\n {2}validation {2}failed: invalid row ratio 1\.0000 \(max [\d.]+\); per rule: as_of_mismatch=\d+[^\n]*\n/,
      );
      expect(shown.stdout).toMatch(new RegExp(`\\n {4}${key}:2 \\[as_of\\] as_of_mismatch `));
      expect(shown.stdout).toContain(`  files       validation   s3://${s.artifacts}/reports/${runId}/validation.json`);
      const failedText = await cliText('batch', '--run-id', 'batch-20261109T000001Z-asof');
      expect(failedText.code).toBe(1);
      expect(failedText.stdout).toMatch(
        /^batch run batch-20261109T000001Z-asof: FAILED\n {2}path: AcquireLock → .+\nrun batch-20261109T000001Z-asof {2}batch {2}FAILED/,
      );
      expect(failedText.stdout).toMatch(/\n {2}timings {5}AcquireLock \d+\.\d\d s · /);
      const list = await cliText('runs', '--kind', 'batch', '--limit', '2');
      expect(list.stdout.split('\n')[0]).toMatch(/^RUN +KIND +STATUS +OUTCOME +TRIGGER +STARTED +COMPLETED +ERROR$/);
      expect(list.stdout).toMatch(
        /batch-20261109T000000Z-asof +batch +FAILED +- +cli .* ValidationError: Invalid row ratio 1\.0000 exceeds max/,
      );
    });

    it('runs show of an unknown run id → exit 1, one line naming it', async () => {
      expectFailure(
        await cli('runs', 'show', 'batch-20990101T000000Z-none'),
        1,
        /Run batch-20990101T000000Z-none not found/,
      );
    });
  },
);
