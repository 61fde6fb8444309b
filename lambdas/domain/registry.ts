import { createHash } from 'node:crypto';
import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  type DescribeModelPackageCommandOutput,
  ListModelPackagesCommand,
  type ListModelPackagesCommandInput,
  type ModelPackageSummary,
  type SageMakerClient,
  type TransformInstanceType,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { NotFoundError, ValidationError } from '../../contracts/errors';

/**
 * SageMaker Model Registry core: one Model Package Group per deployment, one versioned package per
 * training run that passed the gate. Every function takes its SageMaker client as the first argument.
 *
 * Production = the newest `Approved` package by creation time. The ListModelPackages default order is ASCENDING,
 * so every lookup here passes `SortBy: CreationTime, SortOrder: Descending` explicitly.
 */

export type ApprovalStatus = 'Approved' | 'Rejected' | 'PendingManualApproval';
export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['Approved', 'Rejected', 'PendingManualApproval'];

/** CustomerMetadataProperties keys written on every package (the link back to tracking). */
export const METADATA_KEYS = {
  runId: 'runId',
  codeVersion: 'codeVersion',
  dataWindow: 'dataWindow',
  preprocessingUri: 'preprocessingUri',
  trainingStatsUri: 'trainingStatsUri',
  evaluationReportUri: 'evaluationReportUri',
  /** The training objects (keys, ETags, version ids): the full list is this S3 document (metadata values are short). */
  lineageUri: 'lineageUri',
  /** SageMaker model-quality statistics (also ModelMetrics.ModelQuality.Statistics). */
  modelQualityUri: 'modelQualityUri',
  contractVersion: 'contractVersion',
  trainingObjectCount: 'trainingObjectCount',
  auc: 'validationAuc',
  logloss: 'validationLogloss',
} as const;

/** Validation metrics carried by a package. */
export interface PackageMetrics {
  readonly auc?: number;
  readonly logloss?: number;
}

/** A model package as the pipeline sees it. */
export interface PackageInfo {
  readonly arn: string;
  readonly version: number;
  readonly groupName: string;
  readonly status: ApprovalStatus | undefined;
  readonly createdAt: string | undefined;
  readonly runId: string | undefined;
  readonly metrics: PackageMetrics;
  /** All CustomerMetadataProperties. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly imageUri: string | undefined;
  readonly modelDataUrl: string | undefined;
  readonly preprocessingUri: string | undefined;
  readonly evaluationReportUri: string | undefined;
  readonly approvalDescription: string | undefined;
  /** Who changed the package last (user profile name or IAM identity ARN), when SageMaker tells. */
  readonly lastModifiedBy: string | undefined;
}

const PACKAGE_ARN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package\/([^/]+)\/(\d+)$/;

/**
 * Version number of a versioned model package ARN (`…:model-package/<group>/<version>`).
 *
 * @throws ValidationError when the ARN is not a versioned model package ARN
 */
export function versionFromArn(arn: string): number {
  const m = PACKAGE_ARN.exec(arn);
  if (!m?.[2]) {
    throw new ValidationError(
      `Not a versioned model package ARN: "${arn}" (expected arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>)`,
    );
  }
  return Number(m[2]);
}

// CustomerMetadataProperties: key 1..128 and value 1..256 chars of [\p{L}\p{Z}\p{N}_.:/=+\-@] (API constraint).
const METADATA_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;

function checkMetadata(props: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(props)) {
    if (!METADATA_VALUE.test(v)) {
      throw new ValidationError(
        `Model package metadata ${k} = ${JSON.stringify(v)} is not allowed: 1-256 characters of letters, digits, spaces and _.:/=+-@`,
      );
    }
  }
  return props;
}

function num(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function toStatus(v: string | undefined): ApprovalStatus | undefined {
  return APPROVAL_STATUSES.find((s) => s === v);
}

/** Map a DescribeModelPackage response to {@link PackageInfo}. */
export function toPackageInfo(d: DescribeModelPackageCommandOutput): PackageInfo {
  const arn = d.ModelPackageArn;
  if (!arn) throw new ValidationError('DescribeModelPackage returned no ModelPackageArn');
  const metadata = { ...(d.CustomerMetadataProperties ?? {}) };
  const container = d.InferenceSpecification?.Containers?.[0];
  const by = d.LastModifiedBy?.UserProfileName ?? d.LastModifiedBy?.IamIdentity?.Arn;
  return {
    arn,
    version: d.ModelPackageVersion ?? versionFromArn(arn),
    groupName: d.ModelPackageGroupName ?? '',
    status: toStatus(d.ModelApprovalStatus),
    createdAt: d.CreationTime?.toISOString(),
    runId: metadata[METADATA_KEYS.runId],
    metrics: { auc: num(metadata[METADATA_KEYS.auc]), logloss: num(metadata[METADATA_KEYS.logloss]) },
    metadata,
    imageUri: container?.Image,
    modelDataUrl: container?.ModelDataUrl,
    preprocessingUri: metadata[METADATA_KEYS.preprocessingUri],
    evaluationReportUri:
      metadata[METADATA_KEYS.evaluationReportUri] ?? d.ModelMetrics?.ModelQuality?.Statistics?.S3Uri ?? undefined,
    approvalDescription: d.ApprovalDescription,
    lastModifiedBy: by,
  };
}

/** Describe one package by ARN. */
export async function describePackage(sm: SageMakerClient, arn: string): Promise<PackageInfo> {
  const d = await sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  return toPackageInfo(d);
}

/** Iterate package summaries of a group, newest first, across pages. */
async function* summaries(
  sm: SageMakerClient,
  groupName: string,
  extra: Partial<ListModelPackagesCommandInput> = {},
): AsyncGenerator<ModelPackageSummary> {
  let token: string | undefined;
  do {
    const page = await sm.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: groupName,
        ModelPackageType: 'Versioned',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 100,
        ...extra,
        NextToken: token,
      }),
    );
    for (const s of page.ModelPackageSummaryList ?? []) yield s;
    token = page.NextToken;
  } while (token);
}

/**
 * The Production model: the newest `Approved` package of the group, or `null` when none is approved.
 */
export async function findProductionPackage(sm: SageMakerClient, groupName: string): Promise<PackageInfo | null> {
  const page = await sm.send(
    new ListModelPackagesCommand({
      ModelPackageGroupName: groupName,
      ModelPackageType: 'Versioned',
      ModelApprovalStatus: 'Approved',
      SortBy: 'CreationTime',
      SortOrder: 'Descending',
      MaxResults: 1,
    }),
  );
  const arn = page.ModelPackageSummaryList?.[0]?.ModelPackageArn;
  return arn ? describePackage(sm, arn) : null;
}

/**
 * The newest `Approved` package older than `version` (the rollback target when `version` is rejected),
 * or `null` when there is none.
 */
export async function findPreviousApproved(
  sm: SageMakerClient,
  groupName: string,
  version: number,
): Promise<PackageInfo | null> {
  for await (const s of summaries(sm, groupName, { ModelApprovalStatus: 'Approved' })) {
    if (s.ModelPackageArn && (s.ModelPackageVersion ?? versionFromArn(s.ModelPackageArn)) < version) {
      return describePackage(sm, s.ModelPackageArn);
    }
  }
  return null;
}

/** Options of {@link listPackages}. */
export interface ListPackagesOptions {
  /** Only packages with this approval status. @default - all */
  readonly status?: ApprovalStatus;
  /** At most this many (newest first). @default 50 */
  readonly limit?: number;
}

/** Packages of a group, newest first, with status, metrics and run link (one Describe per package). */
export async function listPackages(
  sm: SageMakerClient,
  groupName: string,
  options: ListPackagesOptions = {},
): Promise<PackageInfo[]> {
  const limit = options.limit ?? 50;
  const out: PackageInfo[] = [];
  for await (const s of summaries(sm, groupName, options.status ? { ModelApprovalStatus: options.status } : {})) {
    if (out.length >= limit) break;
    if (s.ModelPackageArn) out.push(await describePackage(sm, s.ModelPackageArn));
  }
  return out;
}

/**
 * The package of a given version of the group.
 *
 * @throws NotFoundError naming the group and version when there is none
 */
export async function findPackageByVersion(
  sm: SageMakerClient,
  groupName: string,
  version: number,
): Promise<PackageInfo> {
  for await (const s of summaries(sm, groupName)) {
    if (s.ModelPackageArn && (s.ModelPackageVersion ?? versionFromArn(s.ModelPackageArn)) === version) {
      return describePackage(sm, s.ModelPackageArn);
    }
  }
  throw new NotFoundError(`Model package group ${groupName} has no version ${version}`);
}

/**
 * The package registered for a training run, or `null`.
 *
 * @param createdAfter only packages created after this instant are examined (the run's start; keeps the lookup short)
 */
export async function findPackageByRunId(
  sm: SageMakerClient,
  groupName: string,
  runId: string,
  createdAfter?: Date,
): Promise<PackageInfo | null> {
  for await (const s of summaries(sm, groupName, createdAfter ? { CreationTimeAfter: createdAfter } : {})) {
    if (!s.ModelPackageArn) continue;
    const info = await describePackage(sm, s.ModelPackageArn);
    if (info.runId === runId) return info;
  }
  return null;
}

/** Everything a model package records about its training run. */
export interface CreatePackageParams {
  readonly groupName: string;
  readonly runId: string;
  readonly codeVersion: string;
  /** Data window the model was trained on, e.g. `2024-01-01..2024-03-31` (no commas: API character set). */
  readonly dataWindow: string;
  /** Inference image (built-in XGBoost). */
  readonly imageUri: string;
  /** `s3://…/model.tar.gz` produced by the training job. */
  readonly modelDataUrl: string;
  readonly preprocessingUri: string;
  readonly trainingStatsUri: string;
  /** `s3://…/reports/<runId>/evaluation.json` (the full evaluation, both models). */
  readonly evaluationReportUri: string;
  /**
   * `s3://…/reports/<runId>/model-quality.json` (SageMaker's model-quality statistics), referenced from
   * ModelMetrics.ModelQuality.Statistics so the registry shows the version's quality.
   * @default - the evaluation report is referenced instead
   */
  readonly modelQualityUri?: string;
  /** Lineage: the training objects document, the contract version and the number of objects. @default - none */
  readonly lineage?: { readonly uri: string; readonly contractVersion: string; readonly trainingObjects: number };
  readonly metrics: { readonly auc: number; readonly logloss?: number };
  /** Instance types batch transform may use with this package. */
  readonly transformInstanceTypes: readonly string[];
  /** Framework version of the image. @default '1.7-1' */
  readonly frameworkVersion?: string;
  /** Only packages created after this are examined for an earlier attempt of the same run. @default - all */
  readonly notBefore?: Date;
}

/** Result of {@link createModelPackage}. */
export interface CreatePackageResult {
  readonly arn: string;
  readonly version: number;
  /** false when an earlier attempt of the same run had already registered the package (retry). */
  readonly created: boolean;
}

/** Idempotency token for CreateModelPackage: 1-36 chars of [a-zA-Z0-9-], derived from the run id. */
export function clientTokenFor(runId: string): string {
  return createHash('sha256').update(`model-package:${runId}`).digest('hex').slice(0, 32);
}

/**
 * Register the model of a training run as a new version in `PendingManualApproval`.
 *
 * Idempotent on retry: a package whose `runId` metadata equals `params.runId` is returned instead of creating a
 * second one, and the call carries a `ClientToken` derived from the run id (SageMaker's own idempotency).
 */
export async function createModelPackage(
  sm: SageMakerClient,
  params: CreatePackageParams,
): Promise<CreatePackageResult> {
  const existing = await findPackageByRunId(sm, params.groupName, params.runId, params.notBefore);
  if (existing) return { arn: existing.arn, version: existing.version, created: false };

  const metadata: Record<string, string> = {
    [METADATA_KEYS.runId]: params.runId,
    [METADATA_KEYS.codeVersion]: params.codeVersion,
    [METADATA_KEYS.dataWindow]: params.dataWindow,
    [METADATA_KEYS.preprocessingUri]: params.preprocessingUri,
    [METADATA_KEYS.trainingStatsUri]: params.trainingStatsUri,
    [METADATA_KEYS.evaluationReportUri]: params.evaluationReportUri,
    [METADATA_KEYS.auc]: String(params.metrics.auc),
  };
  if (params.metrics.logloss !== undefined) metadata[METADATA_KEYS.logloss] = String(params.metrics.logloss);
  if (params.modelQualityUri) metadata[METADATA_KEYS.modelQualityUri] = params.modelQualityUri;
  if (params.lineage) {
    metadata[METADATA_KEYS.lineageUri] = params.lineage.uri;
    metadata[METADATA_KEYS.contractVersion] = params.lineage.contractVersion;
    metadata[METADATA_KEYS.trainingObjectCount] = String(params.lineage.trainingObjects);
  }
  if (params.transformInstanceTypes.length === 0) {
    throw new ValidationError('createModelPackage: transformInstanceTypes must list at least one instance type');
  }

  const res = await sm.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: params.groupName,
      ModelPackageDescription: `Training run ${params.runId} (data ${params.dataWindow}, code ${params.codeVersion})`,
      ModelApprovalStatus: 'PendingManualApproval',
      ClientToken: clientTokenFor(params.runId),
      InferenceSpecification: {
        Containers: [
          {
            Image: params.imageUri,
            ModelDataUrl: params.modelDataUrl,
            Framework: 'XGBOOST',
            FrameworkVersion: params.frameworkVersion ?? '1.7-1',
          },
        ],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
        SupportedTransformInstanceTypes: params.transformInstanceTypes.map((t) => t as TransformInstanceType),
      },
      ModelMetrics: {
        ModelQuality: {
          Statistics: { ContentType: 'application/json', S3Uri: params.modelQualityUri ?? params.evaluationReportUri },
        },
      },
      CustomerMetadataProperties: checkMetadata(metadata),
    }),
  );
  const arn = res.ModelPackageArn;
  if (!arn) throw new ValidationError('CreateModelPackage returned no ModelPackageArn');
  return { arn, version: versionFromArn(arn), created: true };
}

/**
 * Set the approval status of a package (what the console's "Update status" and `mlops-batch approve|reject` do).
 *
 * ModelApprovalStatus is always sent, and the package's existing CustomerMetadataProperties are sent back with it:
 * both are "replace" fields in some implementations (moto clears omitted ones), and re-sending them is a no-op on AWS.
 */
export async function updateApprovalStatus(
  sm: SageMakerClient,
  arn: string,
  status: ApprovalStatus,
  description?: string,
): Promise<PackageInfo> {
  const current = await describePackage(sm, arn);
  await sm.send(
    new UpdateModelPackageCommand({
      ModelPackageArn: arn,
      ModelApprovalStatus: status,
      ApprovalDescription: description ?? current.approvalDescription,
      CustomerMetadataProperties: Object.keys(current.metadata).length > 0 ? { ...current.metadata } : undefined,
    }),
  );
  return describePackage(sm, arn);
}

/** Version numbers of the group's packages with `status`, newest first, at most `limit` (no Describe calls). */
export async function listVersions(
  sm: SageMakerClient,
  groupName: string,
  status: ApprovalStatus,
  limit = Number.POSITIVE_INFINITY,
): Promise<number[]> {
  const out: number[] = [];
  for await (const s of summaries(sm, groupName, { ModelApprovalStatus: status })) {
    if (out.length >= limit) break;
    if (s.ModelPackageArn) out.push(s.ModelPackageVersion ?? versionFromArn(s.ModelPackageArn));
  }
  return out;
}
