import { createHash } from 'node:crypto';
import { IntegrityError, ValidationError } from '../../../contracts/errors';
import { resultsPrefix } from '../../../contracts/s3-layout';
import type { PreparedData } from '../../../contracts/states/batch';
import type { InferencePart } from '../../data/inference-parts';
import { maxDrift } from '../../data/stats';

/** What PrepareInferenceData produced (core.ts): counts, URIs, the part list and the quarantined objects. */
export interface PrepareInferenceDataResult {
  runId: string;
  contractVersion: string;
  /** Training run whose preprocessing spec encoded the rows. */
  specRunId: string;
  manifestUri: string;
  partsUri: string;
  /** Key (artifacts bucket) of `load-items.json`, the LoadScores items. */
  loadItemsKey: string;
  inputPrefixUri: string;
  parts: InferencePart[];
  rowsIn: number;
  rowsUsed: number;
  rowsQuarantined: number;
  /** Rows sent to the transform (= rowsUsed = Σ parts[].rows). */
  expectedRows: number;
  /** Keys of objects none of whose rows are used (file-level failure, or every row rejected): ledger → QUARANTINED. */
  quarantinedObjects: string[];
  validationReportUri: string;
  statsUri: string;
  /** PSI per feature against the training statistics. */
  drift: Record<string, number>;
}

/** SageMaker job names: 1..63 of `[a-zA-Z0-9-]`, starting with a letter or digit. */
const JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const MAX_JOB_NAME = 63;

/**
 * Transform job name of a run: `<namePrefix>-<runId, sanitized and shortened>-<8 hex of sha256(runId)>`.
 *
 * Deterministic (the same run always gets the same name, so a retried Transform state cannot start a second job:
 * SageMaker refuses a duplicate name) and unique per run id even when sanitizing or shortening makes two run ids look
 * alike (the hash is of the original id). Starts with `namePrefix`, which the state machine's IAM policy is scoped to.
 */
export function transformJobName(namePrefix: string, runId: string): string {
  if (!runId) throw new ValidationError('transformJobName: runId is empty');
  const hash = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  const room = MAX_JOB_NAME - namePrefix.length - hash.length - 2;
  if (room < 1) throw new ValidationError(`transformJobName: name prefix "${namePrefix}" is too long`);
  const body = runId
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  const name = body ? `${namePrefix}-${body}-${hash}` : `${namePrefix}-${hash}`;
  if (!JOB_NAME.test(name)) throw new ValidationError(`transformJobName: "${name}" is not a valid SageMaker job name`);
  return name;
}

/**
 * Shape PrepareInferenceData's state output from the data core's result: the deterministic job name, the results
 * prefix for the Production model version, and counts and S3 keys only — the part list (`load-items.json`,
 * `parts.json`) and the quarantined objects (`parts.json`) stay in S3, so the state does not grow with the run.
 *
 * @throws IntegrityError when the counts do not add up (rows in = used + quarantined; expected = used = Σ part rows)
 */
export function toPreparedData(
  prepared: PrepareInferenceDataResult,
  p: { runId: string; namePrefix: string; artifactsBucket: string; modelVersion: number },
): PreparedData {
  const { rowsIn, rowsUsed, rowsQuarantined, expectedRows } = prepared;
  const sum = prepared.parts.reduce((n, part) => n + part.rows, 0);
  if (rowsIn !== rowsUsed + rowsQuarantined || expectedRows !== rowsUsed || sum !== expectedRows) {
    throw new IntegrityError(
      `Run ${p.runId}: prepared counts disagree: rows in ${rowsIn}, used ${rowsUsed}, quarantined ${rowsQuarantined}, ` +
        `expected ${expectedRows}, sum of part rows ${sum}`,
    );
  }
  const prefix = resultsPrefix(p.modelVersion, p.runId);
  return {
    transformJobName: transformJobName(p.namePrefix, p.runId),
    manifestUri: prepared.manifestUri,
    partsUri: prepared.partsUri,
    outputUri: `s3://${p.artifactsBucket}/${prefix}`,
    resultsBucket: p.artifactsBucket,
    resultsPrefix: prefix,
    partCount: prepared.parts.length,
    loadItemsKey: prepared.loadItemsKey,
    rowsIn,
    rowsUsed,
    rowsQuarantined,
    expectedRows,
    objectsQuarantined: prepared.quarantinedObjects.length,
    validationReportUri: prepared.validationReportUri,
    maxDriftPsi: maxDrift(prepared.drift),
    finalize: null,
  };
}
