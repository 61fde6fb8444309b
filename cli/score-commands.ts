import type { Command } from 'commander';
import type { CliContext } from './context';
import { checkDateRange, isoDate } from './options';
import { print, table } from './output';

/** `score` and `reconcile`; their cores (cli/scores.ts) load when a command runs. */
const core = (): typeof import('./scores') => require('./scores');

export function addScoreCommands(program: Command, ctx: CliContext): void {
  program
    .command('score <id...>')
    .description('read scores as the API serves them (unknown ids get the segment or global fallback score)')
    .option('--segment <value>', 'segment for the fallback of unknown ids (config cache.segmentFeature)')
    .action(async (ids: string[], o: { segment?: string }) => {
      const scores = core();
      scores.checkScoreArguments(ids, o.segment);
      const res = await scores.score(await ctx.target(), ids, o.segment);
      print(ctx.opts(), res, () => {
        const lines = table([
          ['ENTITY', 'SCORE', 'SOURCE', 'MODEL', 'AS OF'],
          ...res.items.map((r) => [
            r.entityId,
            r.score.toFixed(6),
            scores.describeSource(r, o.segment),
            r.modelVersion,
            r.asOf,
          ]),
        ]);
        return res.notFound.length ? `${lines}\nno score and no fallback yet: ${res.notFound.join(', ')}` : lines;
      });
    });

  program
    .command('reconcile')
    .description('register feature objects missed by arrival events, or backfill a date range (they become PENDING)')
    .option('--prefix <prefix>', 'only keys under this prefix (must start with inference/)')
    .option('--from <date>', 'first partition dt=YYYY-MM-DD', isoDate('--from'))
    .option('--to <date>', 'last partition dt=YYYY-MM-DD', isoDate('--to'))
    .action(async (o: { prefix?: string; from?: string; to?: string }) => {
      checkDateRange(o);
      const res = await core().reconcileObjects(await ctx.target(), o);
      print(
        ctx.opts(),
        res,
        () =>
          `listed ${res.listed} under s3://${res.bucket}/${res.prefix}: ${res.new} new, ${res.requeued} requeued (changed), ${res.unchanged} unchanged, ${res.ignored} ignored${res.nextStartAfter ? `; stopped early, continue after ${res.nextStartAfter}` : ''}`,
      );
    });
}
