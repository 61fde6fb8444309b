/**
 * The model artifact, as SageMaker's built-in XGBoost writes it: `model.tar.gz` holding one file, `xgboost-model`
 * (the booster saved with `Booster.save_model`; https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html, "Use
 * XGBoost as a built-in algorithm": the model is loadable with the open-source xgboost package).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar';
import { ValidationError } from '../../contracts/errors';

/**
 * Image URI of models trained locally (the training job, the model package and the model state it): XGBoost 1.7,
 * trained on this machine. The local transformer also runs models of SageMaker's own 1.7 image (same artifact).
 */
export const LOCAL_IMAGE_URI = 'local/sagemaker-xgboost:1.7-1';
export const MODEL_FILE = 'xgboost-model';

/** An image the local transformer can run: an XGBoost 1.7 image, local or SageMaker's. */
export function isXgboost17Image(image: string | undefined): boolean {
  return image !== undefined && /(^|\/)sagemaker-xgboost:1\.7-\d+(-[\w.]+)?$/.test(image);
}

/** A temporary directory for one job; `dispose` removes it. */
export function jobDir(prefix: string): { dir: string; dispose: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `mlops-${prefix}-`));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Pack `<dir>/xgboost-model` into `<dir>/model.tar.gz` (the file at the top of the archive, as the container). */
export async function packModel(dir: string): Promise<string> {
  const archive = path.join(dir, 'model.tar.gz');
  await tar.create({ gzip: true, cwd: dir, file: archive, portable: true }, [MODEL_FILE]);
  return archive;
}

/**
 * Extract `xgboost-model` from a model.tar.gz file into `dir`.
 * @throws ValidationError naming `source` when the archive is unreadable or holds no xgboost-model
 */
export async function unpackModel(archive: string, dir: string, source = 'model.tar.gz'): Promise<string> {
  let found: string | undefined;
  try {
    await tar.extract({
      file: archive,
      cwd: dir,
      filter: (p) => {
        const hit = p === MODEL_FILE || p.endsWith(`/${MODEL_FILE}`);
        if (hit) found ??= p;
        return hit;
      },
    });
  } catch (e) {
    throw new ValidationError(`${source} is not a readable tar.gz archive: ${(e as Error).message}`);
  }
  const file = found ? path.join(dir, found) : undefined;
  if (!file || !existsSync(file)) {
    throw new ValidationError(
      `${source} has no ${MODEL_FILE}: not an XGBoost model of the SageMaker XGBoost algorithm`,
    );
  }
  return file;
}
