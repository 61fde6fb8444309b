/**
 * Single-table keys of the `Pipeline` DynamoDB table (DESIGN §5). Every item has `pk` and `sk`;
 * ledger items also carry `gsi1pk`/`gsi1sk` for the status index.
 */
export const TABLE_GSI_LEDGER_STATUS = 'ledger-status';

export const runKey = (runId: string) => ({ pk: `RUN#${runId}`, sk: 'RUN' });
export const modelKey = (version: number | string) => ({ pk: `MODEL#${version}`, sk: 'MODEL' });
export const ledgerKey = (s3Key: string) => ({ pk: `OBJ#${s3Key}`, sk: 'OBJ' });
export const lockKey = (name = 'batch') => ({ pk: `LOCK#${name}`, sk: 'LOCK' });

/** Ledger status values (DESIGN §5). */
export type LedgerStatus = 'PENDING' | 'SCORED' | 'QUARANTINED';

/** Partition key of the ledger-status GSI: `LEDGER#<status>`; sort key: the S3 key. */
export const ledgerStatusGsiPk = (status: LedgerStatus) => `LEDGER#${status}`;
