/**
 * The local model: logistic regression from ml-logistic-regression on standardized features (plus a bias column),
 * packed as SageMaker packs a model: `model.tar.gz` holding `model.json`. The image URI below marks packages trained
 * locally; the local transformer refuses any other image.
 */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { createTarGz, readTarGz } from './tar';

/** Image URI of locally trained models (stated in the model metadata, the training job and the model package). */
export const LOCAL_IMAGE_URI = 'local/mlops-batch-logistic-regression:2.0.0';
export const LOCAL_MODEL_FORMAT = 'mlops-local-logreg/1';
export const MODEL_FILE = 'model.json';

export interface LocalModelHyperparameters {
  /** Gradient steps. */
  readonly numSteps: number;
  /** Step size per mean gradient (the library sums gradients over rows, so it gets learningRate / rows). */
  readonly learningRate: number;
}

// Standardized features converge in a few dozen full-batch steps (validation AUC stable from ~30 steps on the sample data).
export const DEFAULT_HYPERPARAMETERS: LocalModelHyperparameters = { numSteps: 40, learningRate: 2 };

export interface LocalModel {
  readonly format: typeof LOCAL_MODEL_FORMAT;
  readonly imageUri: string;
  readonly library: string;
  readonly featureCount: number;
  /** Standardization learned on the training rows (std 0 → 1). */
  readonly means: readonly number[];
  readonly stds: readonly number[];
  readonly hyperparameters: LocalModelHyperparameters;
  readonly trainedRows: number;
  readonly trainedAt: string;
  /** ml-logistic-regression's own JSON (LogisticRegression.load reads it back). */
  readonly logreg: unknown;
}

function design(rows: readonly (readonly number[])[], means: readonly number[], stds: readonly number[]): Matrix {
  const n = rows.length;
  const d = means.length;
  const m = new Matrix(n, d + 1);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    for (let j = 0; j < d; j++) m.set(i, j, (r[j]! - means[j]!) / stds[j]!);
    m.set(i, d, 1);
  }
  return m;
}

/** Fit the model on dense numeric rows and 0/1 labels. */
export function fitModel(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  hyper: LocalModelHyperparameters = DEFAULT_HYPERPARAMETERS,
  now: Date = new Date(),
): LocalModel {
  if (rows.length === 0) throw new Error('cannot train on zero rows');
  if (rows.length !== labels.length) throw new Error(`${rows.length} rows but ${labels.length} labels`);
  const classes = new Set(labels);
  if (classes.size !== 2 || !classes.has(0) || !classes.has(1)) {
    throw new Error(`labels must contain both 0 and 1; found ${[...classes].join(', ')}`);
  }
  const d = rows[0]!.length;
  const means = new Array<number>(d).fill(0);
  const stds = new Array<number>(d).fill(0);
  for (const r of rows) for (let j = 0; j < d; j++) means[j]! += r[j]! / rows.length;
  for (const r of rows) for (let j = 0; j < d; j++) stds[j]! += (r[j]! - means[j]!) ** 2 / rows.length;
  for (let j = 0; j < d; j++) stds[j] = Math.sqrt(stds[j]!) || 1;
  const lr = new LogisticRegression({ numSteps: hyper.numSteps, learningRate: hyper.learningRate / rows.length });
  lr.train(design(rows, means, stds), Matrix.columnVector([...labels]));
  return {
    format: LOCAL_MODEL_FORMAT,
    imageUri: LOCAL_IMAGE_URI,
    library: 'ml-logistic-regression@2.0.0',
    featureCount: d,
    means,
    stds,
    hyperparameters: hyper,
    trainedRows: rows.length,
    trainedAt: now.toISOString(),
    logreg: JSON.parse(JSON.stringify(lr.toJSON())) as unknown,
  };
}

const loaded = new WeakMap<LocalModel, LogisticRegression>();

/** P(label = 1) per row. */
export function predictProba(model: LocalModel, rows: readonly (readonly number[])[]): number[] {
  if (rows.length === 0) return [];
  let lr = loaded.get(model);
  if (!lr) {
    lr = LogisticRegression.load(model.logreg);
    loaded.set(model, lr);
  }
  // One-vs-all: classifier 0 scores "label differs from 0", i.e. P(label = 1).
  const classifier = lr.classifiers[0];
  if (!classifier) throw new Error('model has no classifier');
  return classifier.testScores(design(rows, model.means, model.stds));
}

export function packModel(model: LocalModel): Buffer {
  return createTarGz([{ name: MODEL_FILE, data: Buffer.from(JSON.stringify(model)) }]);
}

/** Read `model.tar.gz`; fails clearly when it is not a locally trained model. */
export function unpackModel(archive: Buffer, source = 'model.tar.gz'): LocalModel {
  const entry = readTarGz(archive).find((e) => e.name === MODEL_FILE || e.name.endsWith(`/${MODEL_FILE}`));
  if (!entry) throw new Error(`${source} has no ${MODEL_FILE}: not a model trained by the local trainer`);
  const model = JSON.parse(entry.data.toString('utf8')) as LocalModel;
  if (model.format !== LOCAL_MODEL_FORMAT) throw new Error(`${source}: unknown model format ${String(model.format)}`);
  return model;
}
