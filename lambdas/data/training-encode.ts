import { IntegrityError } from '../../contracts/errors';
import {
  quarantinePrefix,
  reportKeys,
  s3Uri,
  trainingKeys,
  trainingPrepareKeys,
  trainShardKey,
  validationPartKey,
} from '../../contracts/s3-layout';
import { putJson, S3LineWriter } from '../platform/s3';
import { openS3Object } from './csv';
import { encodedWidth, encodeInto, type PreprocessingSpec } from './encoder';
import { dataWindow } from './listing';
import { assertRowBalance } from './quarantine';
import { dealRows, ShardedLineWriter } from './shards';
import { isValidationEntity } from './split';
import { type FeatureSummary, type PartialStats, StatsAccumulator, summarize } from './stats';
import {
  type ProfiledObject,
  type ProfilePartial,
  partialsInOrder,
  readPartial,
  type TrainingPrepareSettings,
  type TrainingSpecPlan,
} from './training-profile';
import { ViolationLog } from './validation-report';
import { validateCsvStream } from './validator';

/**
 * PrepareTrainingData fanned out, second half: EncodeTrainingData encodes one task's objects with the merged spec
 * into the train shards and validation file BuildPreprocessingSpec assigned it ({@link encodeTask}); the last step
 * (state PrepareTrainingData) sums the encode partials into the step's result ({@link finishTrainingData}).
 */

/** What EncodeTrainingData writes for one task (`training/<runId>/prepare/encode/part-<task>.json`). */
export interface EncodePartial {
  readonly task: number;
  readonly trainKeys: readonly string[];
  readonly validationKey: string | null;
  readonly rowsIn: number;
  readonly trainRows: number;
  readonly validationRows: number;
  /** Statistics of the encoded rows over the profile's bin edges (the reference histograms). */
  readonly stats: PartialStats;
}

/** The spec plan BuildPreprocessingSpec wrote. */
export const readSpecPlan = (s: TrainingPrepareSettings): Promise<TrainingSpecPlan> =>
  readPartial(s.s3, s.artifactsBucket, trainingPrepareKeys(s.runId).spec, 'the preprocessing spec plan');

/**
 * Re-read the task's objects pinned to the ETags its profile saw, encode the valid rows with the spec and write
 * them to the task's train shards and validation file (label first, no header), split by the hash of the entity id.
 * @throws IntegrityError when an object changed since the profile, or the counts differ from the profile's
 */
export async function encodeTask(s: TrainingPrepareSettings, task: number): Promise<EncodePartial> {
  const keys = trainingPrepareKeys(s.runId);
  const plan = await readSpecPlan(s);
  const a = plan.assignments[task - 1];
  if (!a || a.task !== task) throw new IntegrityError(`The spec plan of ${s.runId} has no task ${task}`);
  const profile = await readPartial<ProfilePartial>(s.s3, s.artifactsBucket, keys.profile(task), `task ${task}`);
  const spec = plan.spec as PreprocessingSpec;
  const width = encodedWidth(spec);
  const encoded = new Float64Array(width);
  const stats = new StatsAccumulator(s.contract, { edges: plan.edges });
  const csv = { contentType: 'text/csv', partBytes: s.partBytes };
  const first = a.firstShard;
  const train =
    a.shards > 0
      ? new ShardedLineWriter(
          s.s3,
          s.artifactsBucket,
          (n) => trainShardKey(s.runId, first + n - 1),
          dealRows(a.trainRows, a.shards),
          csv,
        )
      : undefined;
  const validationKey = a.validationPart === null ? null : validationPartKey(s.runId, a.validationPart);
  const validation = validationKey ? new S3LineWriter(s.s3, s.artifactsBucket, validationKey, csv) : undefined;
  let trainRows = 0;
  let validationRows = 0;
  let rowsIn = 0;
  try {
    for (const [i, obj] of profile.objects.entries()) {
      const counts = await encodeObject(s, obj, profile.files[i]!, (row) => {
        stats.add(row);
        encodeInto(spec, row.values, encoded, 0);
        let line = String(row.label);
        for (let j = 0; j < width; j++) line += `,${encoded[j]}`;
        line += '\n';
        if (isValidationEntity(row.entityId, s.validationShare)) {
          validationRows += 1;
          if (validation?.write(line)) return validation.flush();
        } else {
          trainRows += 1;
          return train?.write(line);
        }
        return undefined;
      });
      rowsIn += counts.rowsIn;
    }
    if (trainRows !== a.trainRows || validationRows !== a.validationRows) {
      throw new IntegrityError(
        `task ${task}: the encode pass split ${trainRows}/${validationRows} rows (train/validation), the profile ${a.trainRows}/${a.validationRows}`,
      );
    }
    const trainKeys = train ? await train.close() : [];
    await validation?.close();
    const partial: EncodePartial = {
      task,
      trainKeys,
      validationKey,
      rowsIn,
      trainRows,
      validationRows,
      stats: stats.toPartial(),
    };
    await putJson(s.s3, s.artifactsBucket, keys.encode(task), partial);
    return partial;
  } catch (err) {
    await Promise.all([train?.abort(), validation?.abort()]);
    throw err;
  }
}

/** Encode one object's valid rows through `onValid`, checking its counts against its profile. */
async function encodeObject(
  s: TrainingPrepareSettings,
  obj: ProfiledObject,
  profiled: { rowsIn: number; rowsValid: number },
  onValid: Parameters<typeof validateCsvStream>[1]['onValid'],
): Promise<{ rowsIn: number }> {
  const body = await openS3Object(s.s3, s.bucket, obj.key, obj.etag).catch((err: unknown) => {
    throw new IntegrityError(`${obj.key} changed or vanished between the two passes: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const second = await validateCsvStream(body.body, {
    contract: s.contract,
    mode: 'training',
    file: obj.key,
    log: new ViolationLog(0),
    maxLineBytes: s.maxLineBytes,
    onValid,
  });
  if (second.rowsValid !== profiled.rowsValid || second.rowsIn !== profiled.rowsIn) {
    throw new IntegrityError(
      `${obj.key}: pass 2 saw ${second.rowsIn} rows (${second.rowsValid} valid), pass 1 ${profiled.rowsIn} (${profiled.rowsValid} valid)`,
    );
  }
  return { rowsIn: second.rowsIn };
}

/** The result of the whole PrepareTrainingData step (one task or many). */
export interface TrainingDataResult {
  runId: string;
  contractVersion: string;
  files: number;
  dataWindow: { from: string | null; to: string | null };
  rowsIn: number;
  rowsUsed: number;
  rowsQuarantined: number;
  trainRows: number;
  validationRows: number;
  /** Number of encoded feature columns (label excluded). */
  featureCount: number;
  /** The first train shard (all of them are under `trainPrefixUri`). */
  trainUri: string;
  /** Number of train shards (objects under `trainPrefixUri`). */
  trainShards: number;
  /** The first validation file (all of them are under `validationPrefixUri`). */
  validationUri: string;
  /** Channel prefixes for CreateTrainingJob (S3Prefix data sources). */
  trainPrefixUri: string;
  validationPrefixUri: string;
  preprocessingUri: string;
  statsUri: string;
  validationReportUri: string;
  /** Prefix holding the quarantined rows of this run (objects exist only for files with rejected rows). */
  quarantinePrefixUri: string;
  featureStats: Record<string, FeatureSummary>;
  /** `reports/<runId>/lineage.json`: the objects read, with the ETag (and version id) of each. */
  lineageUri: string;
  trainingObjects: { key: string; etag?: string; versionId?: string }[];
}

/**
 * Sum the encode partials (task order): rows in = used + quarantined (asserted), the split and shard counts as
 * planned; write `preprocessing.json` (with the reference histograms), the stats and lineage reports.
 */
export async function finishTrainingData(
  s: TrainingPrepareSettings,
  window?: { from?: string; to?: string },
): Promise<TrainingDataResult> {
  const { runId, artifactsBucket } = s;
  const plan = await readSpecPlan(s);
  const stats = new StatsAccumulator(s.contract, { edges: plan.edges });
  const trainKeys: string[] = [];
  const validationKeys: string[] = [];
  let trainRows = 0;
  let validationRows = 0;
  let rowsIn = 0;
  const read = (t: number) =>
    readPartial<EncodePartial>(
      s.s3,
      artifactsBucket,
      trainingPrepareKeys(runId).encode(t),
      `the encoding of task ${t}`,
    );
  for await (const p of partialsInOrder(plan.tasks, read)) {
    stats.absorb(p.stats);
    trainKeys.push(...p.trainKeys);
    if (p.validationKey) validationKeys.push(p.validationKey);
    trainRows += p.trainRows;
    validationRows += p.validationRows;
    rowsIn += p.rowsIn;
  }
  const rowsUsed = trainRows + validationRows;
  if (rowsUsed !== plan.rowsValid || trainRows !== plan.trainRows || rowsIn !== plan.rowsIn) {
    throw new IntegrityError(
      `PrepareTrainingData: encoded ${rowsUsed} of ${rowsIn} rows (${trainRows} train) but the profile found ${plan.rowsValid} valid of ${plan.rowsIn} (${plan.trainRows} train)`,
    );
  }
  if (trainKeys.length !== plan.trainShards || validationKeys.length !== plan.validationParts) {
    throw new IntegrityError(
      `PrepareTrainingData: ${trainKeys.length} train shards and ${validationKeys.length} validation files written, ${plan.trainShards} and ${plan.validationParts} planned`,
    );
  }
  assertRowBalance('PrepareTrainingData', { rowsIn, rowsUsed, rowsQuarantined: plan.rowsQuarantined });
  const finalStats = stats.finish();
  const spec: PreprocessingSpec = { ...(plan.spec as PreprocessingSpec), trainingStats: finalStats };
  const layout = trainingKeys(runId);
  const preprocessingUri = await putJson(s.s3, artifactsBucket, layout.preprocessing, spec);
  const statsUri = await putJson(s.s3, artifactsBucket, reportKeys(runId).stats, finalStats);
  const trainingObjects = plan.objects;
  const lineageUri = await putJson(s.s3, artifactsBucket, reportKeys(runId).lineage, {
    runId,
    bucket: s.bucket,
    contractVersion: s.contract.version,
    trainingObjects,
  });
  const keys = trainingObjects.map((o) => o.key);
  return {
    runId,
    contractVersion: s.contract.version,
    files: trainingObjects.length,
    dataWindow:
      window?.from || window?.to
        ? { from: window.from ?? dataWindow(keys).from, to: window.to ?? dataWindow(keys).to }
        : dataWindow(keys),
    rowsIn,
    rowsUsed,
    rowsQuarantined: plan.rowsQuarantined,
    trainRows,
    validationRows,
    featureCount: encodedWidth(spec),
    trainUri: s3Uri(artifactsBucket, trainKeys[0]!),
    trainShards: trainKeys.length,
    validationUri: s3Uri(artifactsBucket, validationKeys[0]!),
    trainPrefixUri: s3Uri(artifactsBucket, layout.trainPrefix),
    validationPrefixUri: s3Uri(artifactsBucket, layout.validationPrefix),
    preprocessingUri,
    statsUri,
    validationReportUri: plan.validationReportUri,
    quarantinePrefixUri: s3Uri(artifactsBucket, quarantinePrefix(runId)),
    featureStats: summarize(finalStats),
    lineageUri,
    trainingObjects,
  };
}
