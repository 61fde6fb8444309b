import { CreateModelCommand, DescribeModelCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';

/** What a SageMaker Model is made of here: the built-in XGBoost image and a `model.tar.gz`. */
export interface ModelSpec {
  readonly name: string;
  readonly imageUri: string;
  readonly modelDataUrl: string;
  /** Role SageMaker assumes to run the model (reads the model and the input, writes the output). */
  readonly executionRoleArn: string;
  readonly tags?: Readonly<Record<string, string>>;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; message?: string };
  return /could not find model|not found|does not exist/i.test(err.message ?? '') || err.name === 'ResourceNotFound';
}

function isAlreadyExists(e: unknown): boolean {
  return /already exist/i.test((e as { message?: string }).message ?? '');
}

/**
 * Make sure the Model exists: described first, created only when missing, a lost creation race ("already exists")
 * counts as success, so a retry is harmless. Network isolation: the built-in XGBoost container needs no network.
 * @returns whether this call created it
 */
export async function ensureModel(sm: SageMakerClient, spec: ModelSpec): Promise<boolean> {
  try {
    await sm.send(new DescribeModelCommand({ ModelName: spec.name }));
    return false;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await sm.send(
      new CreateModelCommand({
        ModelName: spec.name,
        ExecutionRoleArn: spec.executionRoleArn,
        PrimaryContainer: { Image: spec.imageUri, ModelDataUrl: spec.modelDataUrl },
        EnableNetworkIsolation: true,
        Tags: Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    return true;
  } catch (e) {
    if (isAlreadyExists(e)) return false;
    throw e;
  }
}
