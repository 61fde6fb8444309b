import { createHash } from 'node:crypto';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parseS3Uri, s3Uri, trainingKeys } from '../../../contracts/s3-layout';
import { type EvaluationPlan, evaluationJobNames, type ScoringJob } from '../../../contracts/states/training';
import { openS3Object } from '../../data/csv';
import { loadPreprocessingSpec, type PreprocessingSpec } from '../../data/encoder';
import { findProductionPackage, type PackageInfo } from '../../domain/registry';
import { ensureModel } from '../../domain/sagemaker-model';
import { getText, S3LineWriter } from '../../platform/s3';

/** What {@link prepareEvaluation} needs besides its clients. */
export interface PrepareEvaluationParams {
  readonly runId: string;
  /** The candidate's `model.tar.gz` (Train's ModelArtifacts.S3ModelArtifacts). */
  readonly modelDataUrl: string;
  /** The candidate's validation channel prefix and preprocessing spec (PrepareTrainingData). */
  readonly validationUri: string;
  readonly preprocessingUri: string;
  readonly artifactsBucket: string;
  readonly groupName: string;
  /** Prefix of the evaluation Models and jobs (<= 40 characters). */
  readonly namePrefix: string;
  /** Inference image of the candidate (the training image). */
  readonly imageUri: string;
  /** Role the evaluation Models run with. */
  readonly executionRoleArn: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function readSpec(s3: S3Client, uri: string): Promise<PreprocessingSpec> {
  const { bucket, key } = parseS3Uri(uri);
  return loadPreprocessingSpec(await getText(s3, bucket, key), uri);
}

/** Why the Production model cannot score the candidate's validation rows as they are encoded, or undefined. */
export function incompatibility(candidate: PreprocessingSpec, champion: PreprocessingSpec, version: number) {
  if (champion.contractVersion !== candidate.contractVersion || champion.contractName !== candidate.contractName) {
    return (
      `Production version ${version} was trained with contract ${champion.contractName} ${champion.contractVersion}, ` +
      `the candidate with ${candidate.contractName} ${candidate.contractVersion}: the validation rows are encoded ` +
      'for another contract, so the two cannot be scored on the same rows; comparison skipped'
    );
  }
  if (champion.columns.join(',') !== candidate.columns.join(',')) {
    return `Production version ${version} expects other encoded columns than the candidate: comparison skipped`;
  }
  return undefined;
}

/**
 * Per encoded column (validation rows: label first, so column c of the spec is field c + 1): the champion's
 * imputed value where the candidate's differs. A null of a nullable feature is marked by its `_is_null` column, so
 * re-imputing is exact.
 */
export function reimputation(candidate: PreprocessingSpec, champion: PreprocessingSpec) {
  const out: { valueField: number; nullField: number; value: string }[] = [];
  let col = 0;
  candidate.features.forEach((f, i) => {
    const g = champion.features[i]!;
    if (f.type === 'category') {
      col += f.categories.length;
      return;
    }
    if (f.nullIndicator && g.type !== 'category' && g.impute !== f.impute) {
      out.push({ valueField: col + 1, nullField: col + 2, value: String(g.impute) });
    }
    col += f.nullIndicator ? 2 : 1;
  });
  return out;
}

/** Copy the validation channel to `championInputPrefix`, each null re-imputed with the champion's value. */
async function writeChampionInput(
  s3: S3Client,
  p: PrepareEvaluationParams,
  changes: ReturnType<typeof reimputation>,
): Promise<string> {
  const { bucket, key: prefix } = parseS3Uri(p.validationUri, { prefix: true });
  const target = trainingKeys(p.runId).championInputPrefix;
  // Every page: the fanned-out PrepareTrainingData writes one validation file per task (more than 1 000 for a large
  // window).
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  for (const key of keys) {
    const obj = await openS3Object(s3, bucket, key);
    const writer = new S3LineWriter(s3, p.artifactsBucket, `${target}${key.slice(prefix.length)}`);
    try {
      let rest = '';
      const flushLine = async (line: string) => {
        if (line === '') return;
        const f = line.split(',');
        for (const c of changes) if (f[c.nullField] === '1') f[c.valueField] = c.value;
        if (writer.write(`${f.join(',')}\n`)) await writer.flush();
      };
      for await (const chunk of obj.body) {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) await flushLine(l.replace(/\r$/, ''));
      }
      await flushLine(rest);
      await writer.close();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }
  return s3Uri(p.artifactsBucket, target);
}

/** The champion's scoring job, or the note saying why there is none. */
async function championJob(
  clients: { s3: S3Client; sageMaker: SageMakerClient },
  p: PrepareEvaluationParams,
  prod: PackageInfo,
  candidateSpec: PreprocessingSpec,
  name: string,
): Promise<{ job: EvaluationPlan['champion']; note?: string }> {
  const v = prod.version;
  if (!prod.imageUri || !prod.modelDataUrl) {
    return { job: null, note: `Production version ${v} has no inference container: comparison skipped` };
  }
  const specUri =
    prod.preprocessingUri ?? (prod.runId ? s3Uri(p.artifactsBucket, trainingKeys(prod.runId).preprocessing) : null);
  let spec: PreprocessingSpec;
  try {
    if (!specUri) throw new Error('the package names neither preprocessingUri nor runId');
    spec = await readSpec(clients.s3, specUri);
  } catch (e) {
    return {
      job: null,
      note: `Production version ${v}: its preprocessing spec cannot be read (${(e as Error).message}): comparison skipped`,
    };
  }
  const why = incompatibility(candidateSpec, spec, v);
  if (why) return { job: null, note: why };
  const changes = reimputation(candidateSpec, spec);
  const inputUri = changes.length === 0 ? p.validationUri : await writeChampionInput(clients.s3, p, changes);
  await ensureModel(clients.sageMaker, {
    name,
    imageUri: prod.imageUri,
    modelDataUrl: prod.modelDataUrl,
    executionRoleArn: p.executionRoleArn,
    tags: { runId: p.runId, role: 'champion', modelVersion: String(v) },
  });
  return {
    job: {
      modelName: name,
      transformJobName: name,
      inputUri,
      outputUri: s3Uri(p.artifactsBucket, trainingKeys(p.runId).championScoresPrefix),
      version: v,
      arn: prod.arn,
      ...(prod.runId ? { runId: prod.runId } : {}),
    },
  };
}

/**
 * PrepareEvaluation: the SageMaker Models and transform jobs that score the candidate's validation channel with the
 * candidate and, when there is one that can read these rows, with the Production model. Idempotent (deterministic
 * names; Models are created only when missing).
 */
export async function prepareEvaluation(
  clients: { s3: S3Client; sageMaker: SageMakerClient },
  p: PrepareEvaluationParams,
): Promise<EvaluationPlan> {
  const candidateSpec = await readSpec(clients.s3, p.preprocessingUri);
  const prod = await findProductionPackage(clients.sageMaker, p.groupName);
  const names = evaluationJobNames(p.namePrefix, p.runId, prod?.version ?? null, sha);
  await ensureModel(clients.sageMaker, {
    name: names.candidate,
    imageUri: p.imageUri,
    modelDataUrl: p.modelDataUrl,
    executionRoleArn: p.executionRoleArn,
    tags: { runId: p.runId, role: 'candidate' },
  });
  const candidate: ScoringJob = {
    modelName: names.candidate,
    transformJobName: names.candidate,
    inputUri: p.validationUri,
    outputUri: s3Uri(p.artifactsBucket, trainingKeys(p.runId).candidateScoresPrefix),
  };
  const champion =
    prod && names.champion ? await championJob(clients, p, prod, candidateSpec, names.champion) : { job: null };
  return {
    candidate,
    champion: champion.job,
    ...(champion.note ? { championNote: champion.note } : {}),
    contractVersion: candidateSpec.contractVersion,
  };
}
