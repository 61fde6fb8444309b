#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import * as commands from '../cli/commands';
import { addModelCompareCommands } from '../cli/models-compare';
import { resolveAwsTarget, type Target } from '../cli/target';
import { PipelineError } from '../contracts/errors';
import type { RunKind } from '../contracts/table-keys';

/**
 * `mlops-batch`: the operator CLI. Against AWS (default credential chain; resources from the stacks' outputs) or,
 * with `--local` (or AWS_ENDPOINT_URL set), against the local runtime's moto_server / redis-server.
 *
 * Output is a short table or line for people, or JSON with `--json`. Every failure is one line on stderr and a
 * non-zero exit code: 1 for a failed operation, 2 for bad arguments.
 */

interface GlobalOptions {
  readonly env: string;
  readonly local?: boolean;
  readonly json?: boolean;
}

const REPO_ROOT = path.resolve(__dirname, '..');

/*
 * Loaded on first use: the local target pulls in the local runtime (CDK app synthesis, handlers, stand-ins) and
 * `local` the whole demo, which `--help` and the AWS commands never need. A typed `require`, not `import()`: the npx
 * launcher (bin/mlops-batch.js) registers tsx for CommonJS only, and Node's own `import()` cannot load a .ts module.
 */
const localTarget = (): typeof import('../cli/local-target') => require('../cli/local-target');
const localDemo = (): typeof import('../local/demo/run') => require('../local/demo/run');

function cdkJson(): { context?: { env?: string; environments?: Record<string, { namePrefix?: string }> } } {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
}

function namePrefixOf(envName: string): string {
  return cdkJson().context?.environments?.[envName]?.namePrefix ?? 'mlops-batch';
}

async function target(opts: GlobalOptions): Promise<Target> {
  const local = opts.local === true || Boolean(process.env.AWS_ENDPOINT_URL);
  if (local && !process.env.AWS_ENDPOINT_URL) {
    throw new commands.CliUsageError(
      '--local needs AWS_ENDPOINT_URL (moto_server) and REDIS_URL (redis-server) of a running local runtime; `npm run local -- --keep` prints them',
    );
  }
  if (local) {
    // moto_server accepts any credentials; the local runtime's defaults (as `npm run local` sets them in-process).
    process.env.AWS_REGION ??= 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  }
  return local ? localTarget().resolveLocalTarget(opts.env) : resolveAwsTarget(namePrefixOf(opts.env), opts.env);
}

function print(opts: GlobalOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const fmt = (n: number | undefined, digits = 4) => (n === undefined ? '-' : n.toFixed(digits));

function positiveInt(name: string) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got "${raw}"`);
    }
    return n;
  };
}

function isoDate(name: string) {
  return (raw: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`))) {
      throw new InvalidArgumentError(`${name} must be a date YYYY-MM-DD, got "${raw}"`);
    }
    return raw;
  };
}

export function buildProgram(): Command {
  const program = new Command('mlops-batch')
    .description('Operate the mlops-batch-pipeline: train, score, approve and roll back models, read scores.')
    .option('-e, --env <name>', 'environment (cdk.json context.environments)', cdkJson().context?.env ?? 'dev')
    .option('--local', 'act on the local runtime (AWS_ENDPOINT_URL / REDIS_URL) instead of AWS')
    .option('--json', 'print JSON for scripts')
    // Usage errors are one line on stderr (like every other failure), with the hint on the same line.
    .configureOutput({
      outputError: (message, write) => write(`${message.trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();

  const globals = () => program.opts<GlobalOptions>();
  addRunCommands(program, globals);
  addModelCommands(program, globals);
  addQueryCommands(program, globals);
  return program;
}

type Globals = () => GlobalOptions;

/** `train` and `batch`. */
function addRunCommands(program: Command, globals: Globals): void {
  program
    .command('train')
    .description(
      'start a Training run (StartExecution of the Training state machine; with --local it runs in-process to the end)',
    )
    .option('--from <date>', 'first training partition dt=YYYY-MM-DD', isoDate('--from'))
    .option('--to <date>', 'last training partition dt=YYYY-MM-DD', isoDate('--to'))
    .option('--run-id <id>', 'execution name / run id (default: train-<timestamp>-<random>)')
    .option('--wait', 'wait for the run to end; exit 1 if it fails')
    .action(async (o: { from?: string; to?: string; runId?: string; wait?: boolean }) => {
      const t = await target(globals());
      const dataWindow =
        o.from || o.to ? { ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) } : undefined;
      if (t.mode === 'local') {
        await runLocally(globals(), t, 'training', { trigger: 'cli', ...(dataWindow ? { dataWindow } : {}) }, o.runId);
        return;
      }
      const res = await commands.startExecution(
        t,
        'TrainingStateMachineArn',
        { trigger: 'cli', ...(dataWindow ? { dataWindow } : {}) },
        { wait: o.wait === true, ...(o.runId ? { runId: o.runId } : {}) },
      );
      print(globals(), res, () => `training run ${res.runId}: ${res.status}\n  ${res.executionArn}`);
    });

  program
    .command('batch')
    .description(
      'start a BatchInference run now (scores only feature objects not yet scored; with --local it runs in-process to the end)',
    )
    .option('--run-id <id>', 'execution name / run id (default: batch-<timestamp>-<random>)')
    .option('--wait', 'wait for the run to end; exit 1 if it fails')
    .action(async (o: { runId?: string; wait?: boolean }) => {
      const t = await target(globals());
      if (t.mode === 'local') {
        await runLocally(globals(), t, 'batch', { trigger: 'cli' }, o.runId);
        return;
      }
      const res = await commands.startExecution(
        t,
        'BatchInferenceStateMachineArn',
        { trigger: 'cli' },
        { wait: o.wait === true, ...(o.runId ? { runId: o.runId } : {}) },
      );
      print(globals(), res, () => `batch run ${res.runId}: ${res.status}\n  ${res.executionArn}`);
    });
}

/** `approve`, `reject`, `models` and `runs`. */
function addModelCommands(program: Command, globals: Globals): void {
  for (const [name, status, verb] of [
    ['approve', 'Approved', 'approve a model version: it becomes Production (the newest Approved version)'],
    ['reject', 'Rejected', 'reject a model version; rejecting Production rolls back to the previous Approved one'],
  ] as const) {
    program
      .command(`${name} <version>`)
      .description(verb)
      .option('--reason <text>', 'approval description recorded in the registry and the approval history')
      .action(async (rawVersion: string, o: { reason?: string }) => {
        const version = commands.parseVersion(rawVersion);
        const t = await target(globals());
        const deliver = t.mode === 'local' ? localTarget().localApprovalDelivery(t) : undefined;
        const res = await commands.setStatus(t, version, status, o.reason, deliver);
        print(
          globals(),
          res,
          () =>
            `model version ${res.version}: ${res.previousStatus ?? '-'} -> ${res.status}; Production is now ${
              res.productionVersion === undefined ? 'none' : `version ${res.productionVersion}`
            }`,
        );
      });
  }

  const modelsCommand = program
    .command('models')
    .description('list model versions: status, metrics, run, who changed the status when')
    .option('--limit <n>', 'at most n versions, newest first', positiveInt('--limit'), 20)
    .action(async (o: { limit: number }) => {
      const rows = await commands.models(await target(globals()), o.limit);
      print(globals(), rows, () =>
        rows.length === 0
          ? 'no model versions registered yet (run: mlops-batch train)'
          : table([
              ['VERSION', 'STATUS', 'PROD', 'AUC', 'LOGLOSS', 'RUN', 'LAST CHANGE'],
              ...rows.map((r) => [
                String(r.version),
                r.status ?? '-',
                r.production ? '*' : '',
                fmt(r.auc),
                fmt(r.logloss),
                r.runId ?? '-',
                r.lastChange ? `${r.lastChange.status} by ${r.lastChange.by ?? 'unknown'} at ${r.lastChange.at}` : '-',
              ]),
            ]),
      );
    });

  addModelCompareCommands(modelsCommand, {
    target: () => target(globals()),
    print: (data, human) => print(globals(), data, human),
  });

  program
    .command('runs')
    .description('list pipeline runs, newest first')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(['training', 'batch']))
    .option('--limit <n>', 'at most n runs', positiveInt('--limit'), 20)
    .action(async (o: { kind?: RunKind; limit: number }) => {
      const kinds: RunKind[] = o.kind ? [o.kind] : ['training', 'batch'];
      const rows = await commands.runs(await target(globals()), kinds, o.limit);
      print(globals(), rows, () =>
        rows.length === 0
          ? 'no runs yet'
          : table([
              ['RUN', 'KIND', 'STATUS', 'TRIGGER', 'STARTED', 'COMPLETED'],
              ...rows.map((r) => [r.runId, r.kind, r.status, r.trigger, r.startedAt, r.completedAt ?? '-']),
            ]),
      );
    });
}

/** `score`, `reconcile` and `local`. */
function addQueryCommands(program: Command, globals: Globals): void {
  program
    .command('score <id...>')
    .description('read scores as the API serves them (unknown ids get the fallback score)')
    .option('--segment <value>', 'segment for the fallback of unknown ids (config cache.segmentFeature)')
    .action(async (ids: string[], o: { segment?: string }) => {
      const res = await commands.score(await target(globals()), ids, o.segment);
      print(globals(), res, () => {
        const rows = res.items as {
          entityId: string;
          score: number;
          source: string;
          modelVersion: string;
          asOf: string;
        }[];
        const lines = table([
          ['ENTITY', 'SCORE', 'SOURCE', 'MODEL', 'AS OF'],
          ...rows.map((r) => [r.entityId, r.score.toFixed(6), r.source, r.modelVersion, r.asOf]),
        ]);
        return res.notFound.length
          ? `${lines}
no score and no fallback yet: ${res.notFound.join(', ')}`
          : lines;
      });
    });

  program
    .command('reconcile')
    .description('register feature objects missed by arrival events, or backfill a date range (they become PENDING)')
    .option('--prefix <prefix>', 'only keys under this prefix (must start with inference/)')
    .option('--from <date>', 'first partition dt=YYYY-MM-DD', isoDate('--from'))
    .option('--to <date>', 'last partition dt=YYYY-MM-DD', isoDate('--to'))
    .action(async (o: { prefix?: string; from?: string; to?: string }) => {
      const res = await commands.reconcileObjects(await target(globals()), o);
      print(
        globals(),
        res,
        () =>
          `listed ${res.listed} under s3://${res.bucket}/${res.prefix}: ${res.new} new, ${res.requeued} requeued (changed), ${res.unchanged} unchanged, ${res.ignored} ignored${res.nextStartAfter ? `; stopped early, continue after ${res.nextStartAfter}` : ''}`,
      );
    });

  program
    .command('local')
    .description('run the whole pipeline locally (same as npm run local; options: --customers N, --keep)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (_o: unknown, cmd: Command) => {
      process.exitCode = await localDemo().main(cmd.args);
    });
}

/**
 * `train` / `batch` with --local: the synthesized state machine runs in-process to its end (`--wait` or not); prints
 * run id, status and path. A failed execution is one line with its error and cause, exit code 1.
 */
async function runLocally(
  opts: GlobalOptions,
  t: Target,
  kind: 'training' | 'batch',
  input: Record<string, unknown>,
  runId: string | undefined,
): Promise<void> {
  const res = await localTarget().runLocally(t, kind, input, runId);
  print(opts, res, () => `${kind} run ${res.runId}: ${res.status}\n  path: ${res.path.join(' → ')}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's "node >= 22 from 2027" notice is not about this command; failures stay one line on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (and help for --help/--version, which exit 0).
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof commands.CliUsageError) {
      process.stderr.write(`mlops-batch: ${err.message}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    const kind =
      err instanceof PipelineError ? '' : err instanceof Error && err.name !== 'Error' ? `${err.name}: ` : '';
    process.stderr.write(`mlops-batch: ${kind}${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
