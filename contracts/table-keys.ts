/**
 * Single-table keys of the `Pipeline` DynamoDB table (created by lib/stacks/data-stack.ts).
 *
 * Every item has `pk` and `sk` (strings). One sparse global secondary index, `gsi1` (`gsi1pk`, `gsi1sk`, projection ALL),
 * serves three access patterns:
 * - ledger objects waiting to be scored: `gsi1pk = LEDGER#PENDING`, `gsi1sk = <s3 key>` — only PENDING (and QUARANTINED)
 *   items carry it, so finding unscored work costs the same with 0 or 1 000 000 SCORED items;
 * - runs by kind: `gsi1pk = RUNS#<kind>`, `gsi1sk = <startedAt ISO>#<runId>`;
 * - model versions: `gsi1pk = MODELS`, `gsi1sk = <version zero-padded to 10>`;
 * - ledger objects already scored, by key (`gsi1pk = LEDGER#SCORED`, `gsi1sk = <s3 key>`): what a Production change
 *   makes due again is read as one key range of the rescore window (`inference/dt=<from>` …), never the whole ledger.
 */
export const TABLE_PK = 'pk';
export const TABLE_SK = 'sk';
export const GSI1_NAME = 'gsi1';
export const GSI1_PK = 'gsi1pk';
export const GSI1_SK = 'gsi1sk';

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });
export const modelKey = (version: number | string) => ({ pk: `MODEL#${version}`, sk: 'MODEL' });
export const ledgerKey = (s3Key: string) => ({ pk: `OBJ#${s3Key}`, sk: 'OBJ' });
export const lockKey = (name = 'batch') => ({ pk: `LOCK#${name}`, sk: 'LOCK' });
/** The Production pointer: which version serves, which are rejected, and an operator's rescore request. */
export const productionKey = () => ({ pk: 'PRODUCTION', sk: 'PRODUCTION' });
/** When the newest feature object arrived (written on every new object version, read by the freshness metrics). */
export const arrivalsKey = () => ({ pk: 'ARRIVALS', sk: 'LATEST' });
/** Where the scheduled reconcile stopped listing the features bucket (it continues from there on its next invocation). */
export const reconcileCursorKey = () => ({ pk: 'RECONCILE', sk: 'CURSOR' });

/** Ledger status values: PENDING on arrival, SCORED by a run, QUARANTINED when no row was usable. */
export type LedgerStatus = 'PENDING' | 'SCORED' | 'QUARANTINED';
export type RunKind = 'training' | 'batch';

export const ledgerStatusGsiPk = (status: LedgerStatus) => `LEDGER#${status}`;
export const runsGsiPk = (kind: RunKind) => `RUNS#${kind}`;
export const MODELS_GSI_PK = 'MODELS';
export const modelGsiSk = (version: number) => String(version).padStart(10, '0');
