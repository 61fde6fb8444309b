import { type Command, Option } from 'commander';
import type { RunKind } from '../contracts/table-keys';
import type { LocalExecutionSummary } from '../local/runtime/executions';
import type { CliContext } from './context';
import { RunFailedError } from './errors';
import { checkDateRange, isoDate, positiveInt, runIdOption } from './options';
import { oneLine, print, table, writeResult } from './output';
import type { RunDetails } from './run-details';
import type { ExecutionResult } from './run-start';
import type { Target } from './target';

/** `train`, `batch`, `runs` and `runs show`; their cores load when a command runs. */
const details = (): typeof import('./run-details') => require('./run-details');
const start = (): typeof import('./run-start') => require('./run-start');
const local = (): typeof import('./local-target') => require('./local-target');
const rescore = (): typeof import('./rescore') => require('./rescore');

const ERROR_WIDTH = 70;

export function addRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description(
      'start a Training run (StartExecution of the Training state machine; with --local it runs in-process to the end)',
    )
    .option('--from <date>', 'first training partition dt=YYYY-MM-DD', isoDate('--from'))
    .option('--to <date>', 'last training partition dt=YYYY-MM-DD', isoDate('--to'))
    .option(
      '--run-id <id>',
      'execution name / run id, not used by any run before (default: train-<timestamp>-<random>)',
      runIdOption('--run-id'),
    )
    .option('--wait', 'wait for the run to end; a failed run prints its summary and exits 1')
    .action(async (o: { from?: string; to?: string; runId?: string; wait?: boolean }) => {
      checkDateRange(o);
      const dataWindow =
        o.from || o.to ? { ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) } : undefined;
      const input = { trigger: 'cli', ...(dataWindow ? { dataWindow } : {}) };
      await startRun(ctx, 'training', input, o);
    });

  program
    .command('batch')
    .description(
      'start a BatchInference run now (scores only feature objects not yet scored; with --local it runs in-process to the end)',
    )
    .option(
      '--run-id <id>',
      'execution name / run id, not used by any run before (default: batch-<timestamp>-<random>)',
      runIdOption('--run-id'),
    )
    .option('--wait', 'wait for the run to end; a failed run prints its summary and exits 1')
    .action(async (o: { runId?: string; wait?: boolean }) => {
      await startRun(ctx, 'batch', { trigger: 'cli' }, o);
    });

  program
    .command('rescore')
    .description('rescore scored partitions with the Production version (prints objects and rows first)')
    .option('--from <date>', 'first partition dt=YYYY-MM-DD (default: 7 days ago)', isoDate('--from'))
    .option('--to <date>', 'last partition dt=YYYY-MM-DD (default: no end)', isoDate('--to'))
    .option('--dry-run', 'only print how many objects and rows would be rescored')
    .option('--wait', 'wait for the run to end; a failed run prints its summary and exits 1')
    .action(async (o: { from?: string; to?: string; dryRun?: boolean; wait?: boolean }) => {
      checkDateRange(o);
      const plan = await rescore().planRescore(await ctx.target(), o);
      if (plan.dryRun) {
        print(ctx.opts(), plan, () => rescore().describePlan(plan));
        return;
      }
      // The count comes before any run starts: on stdout, or on stderr when stdout holds the one JSON document.
      const text = `${rescore().describePlan(plan)}\n`;
      if (ctx.opts().json === true) process.stderr.write(text);
      else writeResult(text);
      await startRun(ctx, 'batch', { trigger: 'rescore' }, o);
    });

  const runs = program
    .command('runs')
    .description(
      'list pipeline runs, newest first: status, outcome and the error of a failed run (runs show <id>: all)',
    )
    .addOption(new Option('--kind <kind>', 'only this kind').choices(['training', 'batch']))
    .option('--limit <n>', 'at most n runs', positiveInt('--limit'), 20)
    .action(async (o: { kind?: RunKind; limit: number }) => {
      const kinds: RunKind[] = o.kind ? [o.kind] : ['training', 'batch'];
      const rows = await details().runs(await ctx.target(), kinds, o.limit);
      print(ctx.opts(), rows, () =>
        rows.length === 0
          ? 'no runs yet'
          : table([
              ['RUN', 'KIND', 'STATUS', 'OUTCOME', 'TRIGGER', 'STARTED', 'COMPLETED', 'ERROR'],
              ...rows.map((r) => [
                r.runId,
                r.kind,
                r.status,
                r.outcome ?? '-',
                r.trigger,
                r.startedAt,
                r.completedAt ?? '-',
                r.error ? oneLine(r.error, ERROR_WIDTH) : '-',
              ]),
            ]),
      );
    });

  runs
    .command('show <runId>')
    .description(
      'the whole run record: error and cause, counts per rule, report and quarantine locations, model, timings, drift',
    )
    .action(async (runId: string) => {
      const d = await details().runDetails(await ctx.target(), runId);
      print(ctx.opts(), d, () => details().renderRunDetails(d));
    });
}

type RunKindName = 'training' | 'batch';

/**
 * Start a run: locally in-process to its end, on AWS through Step Functions (to its end with --wait). A run that
 * did not succeed prints its summary like `runs show` (JSON with --json) and fails the command (exit 1).
 */
async function startRun(
  ctx: CliContext,
  kind: RunKindName,
  input: Record<string, unknown>,
  o: { runId?: string; wait?: boolean },
): Promise<void> {
  const t = await ctx.target();
  if (o.runId) await details().refuseUsedRunId(t, o.runId);
  if (t.mode === 'local') {
    const res = await local().runLocally(t, kind, input, o.runId);
    if (res.status === 'SUCCEEDED') {
      print(ctx.opts(), res, () => `${kind} run ${res.runId}: ${res.status}\n  path: ${res.path.join(' → ')}`);
      return;
    }
    await reportFailedRun(ctx, t, kind, res);
    return;
  }
  const res = await start().startExecution(
    t,
    kind === 'training' ? 'TrainingStateMachineArn' : 'BatchInferenceStateMachineArn',
    input,
    { wait: o.wait === true, ...(o.runId ? { runId: o.runId } : {}) },
  );
  if (res.status === 'SUCCEEDED' || res.status === 'RUNNING') {
    print(ctx.opts(), res, () => `${kind} run ${res.runId}: ${res.status}\n  ${res.executionArn}`);
    return;
  }
  await reportFailedRun(ctx, t, kind, res);
}

async function reportFailedRun(
  ctx: CliContext,
  t: Target,
  kind: RunKindName,
  res: LocalExecutionSummary | ExecutionResult,
): Promise<never> {
  // The run record says why (RecordFailure wrote it); a run that failed before it had one still reports the execution.
  const run: RunDetails | undefined = await details()
    .runDetails(t, res.runId)
    .catch(() => undefined);
  const path = 'path' in res ? res.path : undefined;
  const steps = 'steps' in res ? res.steps : undefined;
  print(ctx.opts(), { ...res, run }, () =>
    [
      `${kind} run ${res.runId}: ${res.status}`,
      ...(path ? [`  path: ${path.join(' → ')}`] : []),
      run ? details().renderRunDetails(run, steps) : `  error: ${res.error ?? '-'}: ${oneLine(res.cause)}`,
    ].join('\n'),
  );
  const cause = oneLine(run?.run.error?.cause ?? res.cause) || 'no cause';
  throw new RunFailedError(
    `${kind} run ${res.runId} ${res.status}${path ? ` after ${path.join(' → ')}` : ''}: ${res.error ?? run?.run.error?.error ?? 'no error'}: ${cause} (details: mlops-batch runs show ${res.runId})`,
  );
}
