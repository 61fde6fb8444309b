import type { Command } from 'commander';
import type { CliContext } from './context';
import { positiveInt } from './options';
import { fmt, print, table } from './output';

/** `models`, `approve` and `reject`; their cores (cli/models.ts) load when a command runs. */
const core = (): typeof import('./models') => require('./models');
const compare = (): typeof import('./models-compare') => require('./models-compare');

export function addModelCommands(program: Command, ctx: CliContext): void {
  for (const [name, status, verb] of [
    ['approve', 'Approved', 'approve a model version: it becomes Production (the newest Approved version)'],
    ['reject', 'Rejected', 'reject a model version; rejecting Production rolls back to the previous Approved one'],
  ] as const) {
    program
      .command(`${name} <version>`)
      .description(verb)
      .option('--reason <text>', 'approval description recorded in the registry and the approval history')
      .action(async (rawVersion: string, o: { reason?: string }) => {
        const models = core();
        const version = models.parseVersion(rawVersion);
        const t = await ctx.target();
        const deliver =
          t.mode === 'local'
            ? (require('./local-target') as typeof import('./local-target')).localApprovalDelivery(t)
            : undefined;
        const res = await models.setStatus(t, version, status, o.reason, deliver);
        print(
          ctx.opts(),
          res,
          () =>
            `model version ${res.version}: ${res.previousStatus ?? '-'} -> ${res.status}; Production is now ${
              res.productionVersion === undefined ? 'none' : `version ${res.productionVersion}`
            }`,
        );
      });
  }

  const models = program
    .command('models')
    .description('list model versions: status, metrics, run, who changed the status when')
    .option('--limit <n>', 'at most n versions, newest first', positiveInt('--limit'), 20)
    .action(async (o: { limit: number }) => {
      const models = core();
      const rows = await models.models(await ctx.target(), o.limit);
      print(ctx.opts(), rows, () =>
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
                models.describeLastChange(r.lastChange),
              ]),
            ]),
      );
    });

  models
    .command('compare [a] [b]')
    .description('candidate vs Production on the same validation rows (default: newest pending vs Production)')
    .action(async (a?: string, b?: string) => {
      const res = await compare().compareModels(await ctx.target(), a, b);
      print(ctx.opts(), res, () => compare().compareText(res));
    });
  models
    .command('show <version>')
    .description("one version's full evaluation (both models' figures, gate) and lineage")
    .action(async (v: string) => {
      const res = await compare().showModel(await ctx.target(), v);
      print(ctx.opts(), res, () => compare().showText(res));
    });
}
