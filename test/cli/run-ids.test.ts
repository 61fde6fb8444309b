/**
 * Run ids on the CLI: a used one is refused before anything starts (exit 2, one line, the run untouched). Runs whose
 * execution ended without its failure path stay RUNNING in the run record; `runs` and `runs show` record
 * them as they ended (cli/stale-runs.ts). Locally: a real `mlops-batch --local train` child process killed with
 * SIGKILL mid-run (its run record RUNNING, its registry entry left behind). On AWS: DescribeExecution of a real
 * execution (moto's Step Functions) that was stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { reconcileStaleRuns } from '../../cli/stale-runs';
import { defaultClients } from '../../cli/target';
import { executionToken } from '../../contracts/states/execution';
import { acquireLock, getLock } from '../../lambdas/domain/lock';
import { completeRun, createRun, getRun } from '../../lambdas/domain/tracking';
import { generateSampleData } from '../../local/demo/sample-data';
import { describeWithServers } from '../support/servers';
import { cli, expectFailure, rows, setUp } from './helpers';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 180_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** A process that has exited: its pid names no process any more. */
const deadPid = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => resolve(child.pid!));
  });

describeWithServers(
  'run ids: reuse refused, stale RUNNING runs reconciled by runs / runs show',
  { moto: true, redis: true },
  (env) => {
    let s: Awaited<ReturnType<typeof setUp>>;
    const registryDir = mkdtempSync(path.join(tmpdir(), 'mlops-executions-'));
    const saved = process.env.MLOPS_LOCAL_EXECUTIONS_DIR;

    beforeAll(async () => {
      process.env.MLOPS_LOCAL_EXECUTIONS_DIR = registryDir;
      s = await setUp(env.moto.endpoint);
      const data = generateSampleData({ customers: 300, seed: 5 });
      for (const f of data.files.filter((x) => x.kind === 'training' && x.phase === 'initial')) {
        await s.c.s3.send(new PutObjectCommand({ Bucket: s.features, Key: f.key, Body: f.body }));
      }
    });

    afterAll(() => {
      if (saved === undefined) delete process.env.MLOPS_LOCAL_EXECUTIONS_DIR;
      else process.env.MLOPS_LOCAL_EXECUTIONS_DIR = saved;
    });

    it('batch / train --run-id of a run that exists (any kind) → exit 2, one line naming it; nothing starts, the run untouched', async () => {
      const runId = 'train-20261130T000000Z-prod';
      await createRun(s.c.doc, s.table, {
        runId,
        kind: 'training',
        trigger: 't',
        codeVersion: 'c',
        executionArn: 'arn:x',
      });
      await completeRun(s.c.doc, s.table, runId, { fields: { modelPackageArn: 'arn:pkg/1' } });
      const before = await getRun(s.c.doc, s.table, runId);
      for (const command of ['batch', 'train']) {
        expectFailure(
          await cli(command, '--run-id', runId),
          2,
          new RegExp(
            `^mlops-batch: --run-id ${runId} is already used by the training run started ${before?.startedAt} \\(SUCCEEDED\\); choose a new id or leave --run-id out$`,
          ),
        );
      }
      expect(await getRun(s.c.doc, s.table, runId)).toEqual(before);
      expect(await getLock(s.c.doc, s.table)).toBeUndefined();
      expect(rows((await cli('runs')).json).map((r) => r.runId)).toEqual([runId]);
    });

    it('a local train killed with SIGKILL mid-run: RUNNING until `runs` sees its process gone, then ABORTED with the cause', async () => {
      const runId = 'train-20261201T000000Z-kill';
      const child: ChildProcess = spawn(
        process.execPath,
        [path.join(ROOT, 'bin/mlops-batch.js'), '--local', 'train', '--run-id', runId],
        {
          cwd: ROOT,
          env: { ...process.env, AWS_ENDPOINT_URL: env.moto.endpoint, REDIS_URL: env.redis.url },
          stdio: 'ignore',
          // Its own process group, so the kill reaches the trainer it may have started too.
          detached: true,
        },
      );
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
      try {
        await waitFor(
          'the run record RUNNING',
          async () => (await getRun(s.c.doc, s.table, runId))?.status === 'RUNNING',
        );
      } catch (e) {
        process.kill(-child.pid!, 'SIGKILL');
        throw e;
      }
      process.kill(-child.pid!, 'SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // Nothing ran its failure path: the record still says RUNNING, the registry still names the dead process.
      expect(await getRun(s.c.doc, s.table, runId)).toMatchObject({ status: 'RUNNING' });
      expect(readdirSync(registryDir)).toHaveLength(1);

      const listed = rows((await cli('runs', '--kind', 'training')).json).filter((r) => r.runId === runId);
      expect(listed).toEqual([
        expect.objectContaining({
          runId,
          status: 'ABORTED',
          error: expect.stringMatching(
            new RegExp(
              `^ExecutionEnded: execution ended without its failure path \\(ABORTED: its local process ${child.pid} on .+ is gone, killed\\)$`,
            ),
          ),
        }),
      ]);
      const record = await getRun(s.c.doc, s.table, runId);
      expect(record).toMatchObject({ status: 'ABORTED', error: { error: 'ExecutionEnded' } });
      expect(record?.completedAt).toBeDefined();
      expect(readdirSync(registryDir)).toHaveLength(0);
      // The id stays used: a new run under it is refused before anything starts.
      expectFailure(
        await cli('train', '--run-id', runId),
        2,
        new RegExp(`--run-id ${runId} is already used by the training run started .* \\(ABORTED\\)`),
      );
    });

    it('a RUNNING batch run whose process is gone: runs show records it ABORTED and releases the lock it held', async () => {
      const runId = 'batch-20261201T000000Z-gone';
      const executionArn = `arn:aws:states:us-east-1:123456789012:execution:batch:${runId}`;
      const startedAt = new Date();
      await createRun(s.c.doc, s.table, {
        runId,
        kind: 'batch',
        trigger: 't',
        codeVersion: 'c',
        executionArn,
        startedAt,
      });
      const execution = executionToken({ id: executionArn, startTime: startedAt.toISOString() });
      await acquireLock(s.c.doc, s.table, { owner: runId, execution, leaseSeconds: 3600 });
      // What a killed local execution leaves: its registry entry, naming a process that no longer exists.
      const { registerLocalExecution } =
        require('../../local/runtime/execution-registry') as typeof import('../../local/runtime/execution-registry');
      registerLocalExecution(executionArn, env.moto.endpoint, await deadPid());

      const shown = await cli('runs', 'show', runId);
      expect(shown.code).toBe(0);
      expect(shown.json).toMatchObject({ run: { runId, status: 'ABORTED', error: { error: 'ExecutionEnded' } } });
      expect(await getLock(s.c.doc, s.table)).toBeUndefined();
    });

    it('a RUNNING run of a live local execution, or one this host has no trace of, is left RUNNING', async () => {
      const runId = 'batch-20261201T000000Z-live';
      const executionArn = `arn:aws:states:us-east-1:123456789012:execution:batch:${runId}`;
      await createRun(s.c.doc, s.table, { runId, kind: 'batch', trigger: 't', codeVersion: 'c', executionArn });
      const { registerLocalExecution } =
        require('../../local/runtime/execution-registry') as typeof import('../../local/runtime/execution-registry');
      const ended = registerLocalExecution(executionArn, env.moto.endpoint); // this (live) process runs it
      try {
        expect(((await cli('runs', 'show', runId)).json as { run: { status: string } }).run.status).toBe('RUNNING');
      } finally {
        ended();
      }
      expect(((await cli('runs', 'show', runId)).json as { run: { status: string } }).run.status).toBe('RUNNING');
    });

    it('on AWS: DescribeExecution of a stopped execution → ABORTED; a running one stays RUNNING', async () => {
      const sfn = new SFNClient({ endpoint: env.moto.endpoint, region: process.env.AWS_REGION ?? 'us-east-1' });
      const machine = await sfn.send(
        new CreateStateMachineCommand({
          name: 'stale-runs-test',
          roleArn: 'arn:aws:iam::123456789012:role/sfn',
          definition: JSON.stringify({ StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 3600, End: true } } }),
        }),
      );
      const start = async (name: string) => {
        const e = await sfn.send(new StartExecutionCommand({ stateMachineArn: machine.stateMachineArn, name }));
        const run = await createRun(s.c.doc, s.table, {
          runId: name,
          kind: 'training',
          trigger: 't',
          codeVersion: 'c',
          executionArn: e.executionArn!,
          startedAt: e.startDate!,
        });
        return { arn: e.executionArn!, run };
      };
      const stopped = await start('train-20261201T000000Z-stopped');
      const running = await start('train-20261201T000000Z-running');
      await sfn.send(new StopExecutionCommand({ executionArn: stopped.arn }));

      const target = {
        mode: 'aws' as const,
        envName: 'dev',
        outputs: { TableName: s.table },
        clients: defaultClients(),
      };
      const out = await reconcileStaleRuns(target, [stopped.run, running.run]);
      expect(out[0]).toMatchObject({
        status: 'ABORTED',
        error: {
          error: 'ExecutionEnded',
          cause: expect.stringMatching(/^execution ended without its failure path \(ABORTED at /),
        },
      });
      expect(out[1]).toEqual(running.run);
      expect(await getRun(s.c.doc, s.table, stopped.run.runId)).toMatchObject({ status: 'ABORTED' });
      expect(await getRun(s.c.doc, s.table, running.run.runId)).toMatchObject({ status: 'RUNNING' });
      sfn.destroy();
    });
  },
);
