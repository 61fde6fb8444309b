/**
 * The promotion and rollback steps of `npm run local`: approve the challenger (the CLI's approve code path: the
 * registry update, then its state-change event to the real approval handler) → the run a Production change starts
 * rescores the window with it → every served score is from it; then reject it (the rollback) → until the rollback
 * run no entity is served a score of the rejected version as a model score → after that run every served score is
 * from the first version again. Served scores are read through the read API's core (the handler's code, with the
 * Production pointer it reads) for every entity of the sample data.
 */
import { setStatus } from '../../cli/commands';
import type { Target } from '../../cli/target';
import { getProduction } from '../../lambdas/domain/production';
import type { PackageInfo } from '../../lambdas/domain/registry';
import { RedisScoreStore } from '../../lambdas/domain/score-store/redis';
import { readScores, type ScoreItem } from '../../lambdas/functions/read-scores/core';
import { deliverApprovalEvent } from '../runtime/approval';
import { localOutputs } from '../runtime/executions';
import type { BatchRunner } from './batches';
import { type BatchChecks, type DemoBatch, LocalRunError, obj } from './checks';
import type { Demo } from './phases';

/** Ids per read request (the read API's default `maxBatchIds`). */
const READ_BATCH = 100;

/** What every served score of the sample data's entities looked like at one moment. */
export interface ServedCensus {
  readonly entities: number;
  /** Items answered from a stored score, by model version. */
  readonly modelByVersion: Readonly<Record<string, number>>;
  /** Of those, items not labelled `production: true`. */
  readonly modelNotProduction: number;
  /** Items answered by a fallback record, by `fallbackReason`. */
  readonly fallbackByReason: Readonly<Record<string, number>>;
  /** Ids with neither a score nor a fallback. */
  readonly notFound: number;
}

const countInto = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

/** Read every entity of the sample data as the read API answers it now (the pointer read fresh, not cached). */
export async function census(demo: Demo, checks: BatchChecks): Promise<ServedCensus> {
  const data = checks.expected.data;
  const ids = [...data.customerIds, ...data.lateOnlyIds];
  const store = new RedisScoreStore(checks.observed.redis);
  const production = await getProduction(demo.clients.doc, demo.tableName);
  const modelByVersion: Record<string, number> = {};
  const fallbackByReason: Record<string, number> = {};
  let modelNotProduction = 0;
  let notFound = 0;
  for (let i = 0; i < ids.length; i += READ_BATCH) {
    const res = await readScores(store, { ids: ids.slice(i, i + READ_BATCH) }, production ? { production } : {});
    notFound += res.notFound.length;
    for (const it of res.items as ScoreItem[]) {
      if (it.source === 'model') {
        countInto(modelByVersion, it.modelVersion);
        if (!it.production) modelNotProduction++;
      } else countInto(fallbackByReason, it.fallbackReason ?? 'none');
    }
  }
  return { entities: ids.length, modelByVersion, modelNotProduction, fallbackByReason, notFound };
}

const describeCensus = (c: ServedCensus) =>
  [
    `${c.entities} entities`,
    ...Object.entries(c.modelByVersion).map(([v, n]) => `${n} model scores of version ${v}`),
    ...(c.modelNotProduction ? [`${c.modelNotProduction} not labelled production`] : []),
    ...Object.entries(c.fallbackByReason).map(([r, n]) => `${n} fallbacks (${r})`),
    ...(c.notFound ? [`${c.notFound} not found`] : []),
  ].join(', ');

/** Every entity is served a model score of `version`, labelled Production. */
const allFrom = (c: ServedCensus, version: number) =>
  c.modelByVersion[String(version)] === c.entities && c.modelNotProduction === 0;

/** Approve or reject `version` through the CLI's code path; returns Production after it and the handler's action. */
async function changeStatus(demo: Demo, version: number, status: 'Approved' | 'Rejected') {
  const { s3, doc, sageMaker, sfn } = demo.clients;
  const target: Target = {
    mode: 'local',
    envName: demo.envName,
    outputs: localOutputs(demo.resources),
    clients: { s3, doc, sm: sageMaker, sfn },
  };
  let outcome: unknown;
  const deliver = async (pkg: PackageInfo) => {
    outcome = await deliverApprovalEvent(target, pkg);
  };
  const res = await setStatus(target, version, status, `${status.toLowerCase()} by npm run local`, deliver);
  return { productionVersion: res.productionVersion, action: String(obj(outcome).action) };
}

/**
 * The run a Production change starts: the approval handler starts it with `{ trigger, modelVersion }` when
 * `batch.startOnApproval` is on (off in dev: the operator's `mlops-batch batch` or the schedule does the same).
 * The sample data are dated days back; the rescore window is widened to reach them (printed).
 */
function rescoreRun(
  runner: BatchRunner,
  label: string,
  trigger: 'approval' | 'rollback',
  version: number,
  windowDays: number,
) {
  return runner.run(label, {
    input: { trigger, modelVersion: version },
    env: { RESCORE_WINDOW_DAYS: String(windowDays) },
  });
}

/** Days from the oldest sample partition to today (+1), so every sample partition is in the rescore window. */
export function sampleWindowDays(oldestDate: string, now: Date = new Date()): number {
  return Math.max(1, Math.ceil((now.getTime() - Date.parse(`${oldestDate}T00:00:00Z`)) / 86_400_000) + 1);
}

export interface PromotionFacts {
  readonly promoted: DemoBatch;
  readonly rolledBack: DemoBatch;
  readonly windowDays: number;
}

/** Approve the challenger, rescore, check; reject it, check the gap, rescore, check. */
export async function promoteAndRollBack(
  demo: Demo,
  runner: BatchRunner,
  checks: BatchChecks,
  first: number,
  second: number | undefined,
): Promise<PromotionFacts> {
  const { progress } = demo;
  if (second === undefined) {
    throw new LocalRunError('The second training registered no model (gate rejected it): nothing to promote');
  }
  const data = checks.expected.data;
  const keys = [...new Set(data.files.filter((f) => f.kind === 'inference').map((f) => f.key))].sort();
  const windowDays = sampleWindowDays([...data.inferenceDates, data.laterDate, data.lateDate].sort()[0]!);

  const promoted = await progress.step(
    `Approve version ${second} (the CLI's approve code path), then the run the Production change starts (rescore window ${windowDays} days, to reach the sample dates)`,
    async () => {
      const change = await changeStatus(demo, second, 'Approved');
      progress.check(
        `approved version ${second} is Production`,
        change.productionVersion === second,
        `approval handler: ${change.action}; Production is version ${change.productionVersion ?? 'none'}`,
      );
      return rescoreRun(runner, `promotion to version ${second}`, 'approval', second, windowDays);
    },
    (b) => `${b.report.rowsScored} rows rescored from ${b.scoredKeys.length} objects`,
  );
  progress.check(
    'the promotion run rescored every scored object of the window',
    promoted.scoredKeys.length === keys.length && promoted.scoredKeys.every((k, i) => k === keys[i]),
    `${promoted.scoredKeys.length} of ${keys.length} objects`,
  );
  const afterPromotion = await census(demo, checks);
  progress.check(
    `every served score is from version ${second} (Production, source model)`,
    allFrom(afterPromotion, second),
    describeCensus(afterPromotion),
  );

  const rolledBack = await progress.step(
    `Reject version ${second} (rollback), then the run the rollback starts`,
    async () => {
      const change = await changeStatus(demo, second, 'Rejected');
      progress.check(
        `rejecting version ${second} makes version ${first} Production again`,
        change.productionVersion === first,
        `approval handler: ${change.action}; Production is version ${change.productionVersion ?? 'none'}`,
      );
      const gap = await census(demo, checks);
      progress.check(
        `before the rollback run no entity is served version ${second} as a model score`,
        (gap.modelByVersion[String(second)] ?? 0) === 0 &&
          (gap.fallbackByReason['model-version-rejected'] ?? 0) === afterPromotion.entities,
        describeCensus(gap),
      );
      return rescoreRun(runner, `rollback to version ${first}`, 'rollback', first, windowDays);
    },
    (b) => `${b.report.rowsScored} rows rescored from ${b.scoredKeys.length} objects`,
  );
  const afterRollback = await census(demo, checks);
  progress.check(
    `every served score is from version ${first} again (Production, source model)`,
    allFrom(afterRollback, first) && rolledBack.scoredKeys.length === keys.length,
    `${describeCensus(afterRollback)}; ${rolledBack.scoredKeys.length} objects rescored`,
  );
  return { promoted, rolledBack, windowDays };
}
