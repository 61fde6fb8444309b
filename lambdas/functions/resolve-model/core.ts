import { CreateModelCommand, DescribeModelCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError, ValidationError } from '../../../contracts/errors';
import { s3Uri, trainingKeys } from '../../../contracts/s3-layout';
import type { ResolvedModel } from '../../../contracts/states/batch';
import { getProduction, syncProduction } from '../../domain/production';
import { findProductionPackage, type PackageInfo } from '../../domain/registry';

/** What {@link resolveModel} needs besides its client. */
export interface ResolveModelParams {
  /** Model Package Group holding the versions. */
  readonly groupName: string;
  /** Prefix of the SageMaker Model name (`<namePrefix>-v<version>`). */
  readonly namePrefix: string;
  /** Execution role SageMaker assumes to run the model (passed to CreateModel). */
  readonly executionRoleArn: string;
  /** Artifacts bucket: where `training/<runId>/preprocessing.json` lives when the package does not name it. */
  readonly artifactsBucket: string;
  /**
   * Correct the Production pointer when the registry is ahead of it (an approval event not delivered yet or lost).
   * @default - the pointer is not read
   */
  readonly pointer?: { readonly doc: DynamoDBDocumentClient; readonly tableName: string; readonly runId: string };
}

/** SageMaker Model name of a version: `<namePrefix>-v<version>` (63 characters at most). */
export function modelNameFor(namePrefix: string, version: number): string {
  const name = `${namePrefix}-v${version}`;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name)) {
    throw new ValidationError(
      `Model name "${name}" is not a valid SageMaker name (letters, digits, dashes; <= 63 chars)`,
    );
  }
  return name;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return /could not find model|not found|does not exist/i.test(err.message ?? '') || err.name === 'ResourceNotFound';
}

function isAlreadyExists(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return /already exist/i.test(err.message ?? '');
}

async function modelExists(sm: SageMakerClient, name: string): Promise<boolean> {
  try {
    await sm.send(new DescribeModelCommand({ ModelName: name }));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

function preprocessingUriOf(pkg: PackageInfo, artifactsBucket: string): string {
  if (pkg.preprocessingUri) return pkg.preprocessingUri;
  if (pkg.runId) return s3Uri(artifactsBucket, trainingKeys(pkg.runId).preprocessing);
  throw new ValidationError(
    `Model package ${pkg.arn} carries neither preprocessingUri nor runId metadata; cannot find the encoding it was trained with`,
  );
}

/**
 * Resolve the Production model (the newest `Approved` package, newest first by creation time) and make sure a
 * SageMaker Model named `<namePrefix>-v<version>` exists for it.
 *
 * Idempotent: the Model is described first and created only when missing; losing a creation race ("already exists")
 * counts as success. The Model is created from the package's own container (image + model data), with network
 * isolation: the built-in XGBoost container needs no network.
 *
 * @throws NotFoundError when the group has no approved version, with the command that approves one
 */
export async function resolveModel(sm: SageMakerClient, params: ResolveModelParams): Promise<ResolvedModel> {
  const pkg = await findProductionPackage(sm, params.groupName);
  if (!pkg) {
    throw new NotFoundError(
      `no approved model version in group ${params.groupName}; approve one with: npx mlops-batch approve <version>`,
    );
  }
  if (!pkg.imageUri || !pkg.modelDataUrl) {
    throw new ValidationError(`Model package ${pkg.arn} has no inference container (image and model data URL)`);
  }
  if (params.pointer) {
    const { doc, tableName, runId } = params.pointer;
    if ((await getProduction(doc, tableName))?.version !== pkg.version) {
      await syncProduction(sm, doc, tableName, params.groupName, `registry ahead of the pointer (run ${runId})`);
    }
  }
  const modelName = modelNameFor(params.namePrefix, pkg.version);
  const preprocessingUri = preprocessingUriOf(pkg, params.artifactsBucket);
  let created = false;
  if (!(await modelExists(sm, modelName))) {
    try {
      await sm.send(
        new CreateModelCommand({
          ModelName: modelName,
          ExecutionRoleArn: params.executionRoleArn,
          PrimaryContainer: { Image: pkg.imageUri, ModelDataUrl: pkg.modelDataUrl },
          EnableNetworkIsolation: true,
          Tags: [
            { Key: 'modelPackageArn', Value: pkg.arn },
            { Key: 'modelVersion', Value: String(pkg.version) },
          ],
        }),
      );
      created = true;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }
  return {
    modelVersion: pkg.version,
    modelPackageArn: pkg.arn,
    modelName,
    ...(pkg.runId ? { trainingRunId: pkg.runId } : {}),
    preprocessingUri,
    created,
  };
}
