import { createHash } from 'node:crypto';
import { IntegrityError, ValidationError } from '../../../contracts/errors';
import { resultsPrefix, s3Uri } from '../../../contracts/s3-layout';
import type { PreparedData } from '../../../contracts/states/batch';
import type { PrepareInferenceDataResult } from '../../data/prepare';

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

/** Largest PSI over the features (0 when nothing was measured). */
export function maxDrift(drift: Readonly<Record<string, number>>): number {
  return Object.values(drift).reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0);
}

/**
 * Features whose drift exceeds `threshold`, worst first, as `name=psi` strings.
 */
export function driftedFeatures(drift: Readonly<Record<string, number>>, threshold: number): string[] {
  return Object.entries(drift)
    .filter(([, v]) => v > threshold)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}=${v.toFixed(3)}`);
}

/**
 * Shape PrepareInferenceData's state output from the data core's result: the deterministic job name, the results
 * prefix for the Production model version, and per part only what LoadScores needs (the full list with source keys
 * and etags stays in parts.json).
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
    outputUri: s3Uri(p.artifactsBucket, prefix),
    resultsBucket: p.artifactsBucket,
    resultsPrefix: prefix,
    parts: prepared.parts.map(({ part, asOf, rows }) => ({ part, asOf, rows })),
    rowsIn,
    rowsUsed,
    rowsQuarantined,
    expectedRows,
    quarantinedObjects: prepared.quarantinedObjects,
    validationReportUri: prepared.validationReportUri,
    maxDriftPsi: maxDrift(prepared.drift),
    finalize: null,
  };
}
