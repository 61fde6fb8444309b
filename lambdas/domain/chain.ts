/**
 * Continuation of a backlog: one BatchInference run takes at most `batch.maxObjectsPerRun` objects; when FindUnscored
 * says more were due (`work.truncated`), the run's commit decides here whether a new execution of the same state
 * machine continues (`StartContinuation`), and every run of such a chain carries the chain's iterations and totals.
 *
 * One run per execution (rather than a loop inside one execution) keeps per run: its run id (artifact prefixes,
 * transform job name, score stamp, ledger `scoredBy`), its lock lease and execution timeout, and its history, which
 * thus stays the same size however long the backlog is.
 */
import {
  type Chain,
  type ChainTotals,
  type Continuation,
  ContinuationInputSchema,
  type RunSummary,
} from '../../contracts/states/batch';

/** Why a truncated run did not continue. */
export type ContinuationStop = 'NO_PROGRESS' | 'CHAIN_LIMIT';

export interface ChainDecision {
  /** The run's summary with `iterations`, `totals`, `continuedFrom` and, when it continues, `continuesAs`. */
  readonly summary: RunSummary;
  /** The next execution (name and input), when the backlog continues. */
  readonly continuation?: Continuation;
  /** Set when the run was truncated but does not continue. */
  readonly stopped?: ContinuationStop;
  /** The first run of the chain (this run when it continues none). */
  readonly head: string;
}

export interface ChainParams {
  readonly runId: string;
  /** The execution's input (`$$.Execution.Input`): a continuation run's carries `chain`. */
  readonly executionInput: unknown;
  /** This run's own counts. */
  readonly summary: RunSummary;
  /** FindUnscored left due objects behind. */
  readonly truncated: boolean;
  /** At most this many runs per chain (MAX_RUNS_PER_CHAIN); the next scheduled run starts a new chain. */
  readonly maxRunsPerChain: number;
  /** Name of the next execution. */
  readonly nextRunId: () => string;
}

const ZERO: ChainTotals = {
  objects: 0,
  objectsQuarantined: 0,
  rowsIn: 0,
  rowsUsed: 0,
  rowsQuarantined: 0,
  rowsLoaded: 0,
};

function add(a: ChainTotals, s: RunSummary): ChainTotals {
  return {
    objects: a.objects + s.objects,
    objectsQuarantined: a.objectsQuarantined + s.objectsQuarantined,
    rowsIn: a.rowsIn + s.rowsIn,
    rowsUsed: a.rowsUsed + s.rowsUsed,
    rowsQuarantined: a.rowsQuarantined + s.rowsQuarantined,
    rowsLoaded: a.rowsLoaded + s.rowsLoaded,
  };
}

/** The chain this execution continues, or undefined (a scheduled, manual or approval run starts a new one). */
export function chainOf(executionInput: unknown): Chain | undefined {
  const parsed = ContinuationInputSchema.safeParse(executionInput);
  return parsed.success ? parsed.data.chain : undefined;
}

/**
 * Add this run to its chain and decide whether the backlog continues: only when the run was truncated, committed or
 * quarantined at least one object (a run that moved nothing would hand the same objects to the next, forever), and
 * the chain is below `maxRunsPerChain`.
 */
export function continueChain(p: ChainParams): ChainDecision {
  const prev = chainOf(p.executionInput);
  const iterations = (prev?.iterations ?? 0) + 1;
  const totals = add(prev?.totals ?? ZERO, p.summary);
  const head = prev?.head ?? p.runId;
  const base: RunSummary = {
    ...p.summary,
    iterations,
    totals,
    ...(prev ? { continuedFrom: prev.previous } : {}),
  };
  if (!p.truncated) return { summary: base, head };
  if (p.summary.objects + p.summary.objectsQuarantined === 0) return { summary: base, stopped: 'NO_PROGRESS', head };
  if (iterations >= p.maxRunsPerChain) return { summary: base, stopped: 'CHAIN_LIMIT', head };
  const name = p.nextRunId();
  return {
    summary: { ...base, continuesAs: name },
    continuation: {
      name,
      input: { trigger: 'continuation', chain: { head, previous: p.runId, iterations, totals } },
    },
    head,
  };
}
