import { z } from 'zod';
import { ValidationError } from '../../contracts/errors';
import {
  type FeatureContract,
  FeatureContractSchema,
  formatJsonPath,
  loadContract,
  NULL_INDICATOR_SUFFIX,
} from './contract';
import type { DatasetStats } from './stats';
import type { ParsedRow } from './validator';

/**
 * Preprocessing spec: how a validated row becomes the dense numeric vector the model sees.
 * Built once per training run from the contract and the training statistics, saved as
 * `artifacts/training/<runId>/preprocessing.json`, registered with the model, and applied unchanged at inference.
 *
 * Encoding, in contract feature order:
 * - number / integer / boolean (true=1, false=0): the value; null → the training mean (`impute`), and for a nullable
 *   feature an extra column `<name>_is_null` (1 when null, else 0) right after it;
 * - category: one-hot over `categories` in spec order; null (nullable feature) → all zeros; a value outside the
 *   categories cannot be encoded (the validator quarantines such rows before they get here).
 *
 * The spec embeds the full contract the model was trained with (inference validates against it, not against whatever
 * contract is current) and the training statistics (reference histograms for drift).
 */

export const PREPROCESSING_SPEC_VERSION = 1;

const NumericEncodedSchema = z
  .object({
    name: z.string(),
    type: z.enum(['number', 'integer', 'boolean']),
    impute: z.number(),
    nullIndicator: z.boolean(),
  })
  .strict();
const CategoryEncodedSchema = z
  .object({ name: z.string(), type: z.literal('category'), categories: z.array(z.string()).min(1) })
  .strict();
export const EncodedFeatureSchema = z.discriminatedUnion('type', [NumericEncodedSchema, CategoryEncodedSchema]);

const HistogramSchema = z.object({ edges: z.array(z.number()), counts: z.array(z.number()) });
const FeatureStatsSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.enum(['number', 'integer', 'boolean']),
    count: z.number(),
    nulls: z.number(),
    mean: z.number().nullable(),
    std: z.number().nullable(),
    min: z.number().nullable(),
    max: z.number().nullable(),
    histogram: HistogramSchema,
  }),
  z.object({
    type: z.literal('category'),
    count: z.number(),
    nulls: z.number(),
    counts: z.record(z.string(), z.number()),
    shares: z.record(z.string(), z.number()),
  }),
]);
export const DatasetStatsSchema = z.object({
  contract: z.object({ name: z.string(), version: z.string() }),
  rows: z.number(),
  features: z.record(z.string(), FeatureStatsSchema),
});

export const PreprocessingSpecSchema = z
  .object({
    specVersion: z.literal(PREPROCESSING_SPEC_VERSION),
    contractName: z.string(),
    contractVersion: z.string(),
    /** Training run that built the spec. */
    runId: z.string(),
    /** Training files are `<label>,<columns…>`; transform input is `<entity>,<segment>,<columns…>`. */
    label: z.string(),
    /** Names of the encoded columns, in order. */
    columns: z.array(z.string()).min(1),
    features: z.array(EncodedFeatureSchema).min(1),
    contract: FeatureContractSchema,
    trainingStats: DatasetStatsSchema,
  })
  .strict();

export type EncodedFeature = z.infer<typeof EncodedFeatureSchema>;
export type PreprocessingSpec = z.infer<typeof PreprocessingSpecSchema>;

/** Build the spec from the contract and the training statistics (means for imputation, reference histograms). */
export function buildPreprocessingSpec(
  contract: FeatureContract,
  stats: DatasetStats,
  runId: string,
): PreprocessingSpec {
  const features: EncodedFeature[] = [];
  const columns: string[] = [];
  for (const f of contract.features) {
    if (f.type === 'category') {
      features.push({ name: f.name, type: 'category', categories: [...f.categories] });
      for (const c of f.categories) columns.push(`${f.name}=${c}`);
      continue;
    }
    const s = stats.features[f.name];
    const mean = s && s.type !== 'category' ? s.mean : null;
    // No non-null training value at all: impute the middle of the allowed range (documented, never NaN).
    const impute = mean ?? (f.type === 'boolean' ? 0 : (f.min + f.max) / 2);
    features.push({ name: f.name, type: f.type, impute, nullIndicator: f.nullable });
    columns.push(f.name);
    if (f.nullable) columns.push(`${f.name}${NULL_INDICATOR_SUFFIX}`);
  }
  return {
    specVersion: PREPROCESSING_SPEC_VERSION,
    contractName: contract.name,
    contractVersion: contract.version,
    runId,
    label: contract.label.name,
    columns,
    features,
    contract,
    trainingStats: stats,
  };
}

/** Validate a stored spec (JSON text or parsed); errors name the source and the JSON path. */
export function loadPreprocessingSpec(raw: unknown, source: string): PreprocessingSpec {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new ValidationError(`Preprocessing spec ${source} is not valid JSON: ${(e as Error).message}`, { source });
    }
  }
  const parsed = PreprocessingSpecSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ path: formatJsonPath(i.path), message: i.message }));
    throw new ValidationError(
      `Preprocessing spec ${source} is invalid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      { source, problems },
    );
  }
  const spec = parsed.data;
  loadContract(spec.contract, `${source} ($.contract)`);
  const names = spec.contract.features.map((f) => f.name);
  const specNames = spec.features.map((f) => f.name);
  if (names.join(',') !== specNames.join(',')) {
    throw new ValidationError(
      `Preprocessing spec ${source}: features [${specNames.join(', ')}] do not match its contract [${names.join(', ')}]`,
    );
  }
  if (encodedWidth(spec) !== spec.columns.length) {
    throw new ValidationError(
      `Preprocessing spec ${source}: ${spec.columns.length} columns listed but the features encode to ${encodedWidth(spec)}`,
    );
  }
  return spec;
}

/** Number of encoded columns. */
export function encodedWidth(spec: PreprocessingSpec): number {
  let w = 0;
  for (const f of spec.features) w += f.type === 'category' ? f.categories.length : f.nullIndicator ? 2 : 1;
  return w;
}

/**
 * Encode a row's values (contract feature order) into `out` from `offset`; returns the offset after the last column.
 * Allocation-free for reuse of `out` in hot loops.
 */
export function encodeInto(
  spec: PreprocessingSpec,
  values: readonly (number | string | null)[],
  out: number[] | Float64Array,
  offset = 0,
): number {
  let o = offset;
  const features = spec.features;
  for (let i = 0; i < features.length; i++) {
    const f = features[i]!;
    const v = values[i];
    if (f.type === 'category') {
      const cats = f.categories;
      let hit = v === null || v === undefined;
      for (let j = 0; j < cats.length; j++) {
        const isIt = v === cats[j];
        if (isIt) hit = true;
        out[o++] = isIt ? 1 : 0;
      }
      if (!hit) throw new ValidationError(`Cannot encode ${f.name}="${String(v)}": not one of ${cats.join('|')}`);
      continue;
    }
    if (v === null || v === undefined) {
      out[o++] = f.impute;
      if (f.nullIndicator) out[o++] = 1;
      continue;
    }
    if (typeof v !== 'number') throw new ValidationError(`Cannot encode ${f.name}="${v}": expected a number`);
    out[o++] = v;
    if (f.nullIndicator) out[o++] = 0;
  }
  return o;
}

/** Encode a validated row into a new array of `spec.columns.length` numbers. */
export function encodeRow(spec: PreprocessingSpec, row: Pick<ParsedRow, 'values'>): number[] {
  const out = new Array<number>(spec.columns.length);
  encodeInto(spec, row.values, out, 0);
  return out;
}

/** Append encoded values to a CSV line buffer: `,v1,v2,…` (shortest round-trip number formatting). */
export function appendEncoded(line: string, encoded: ArrayLike<number>, from = 0, to = encoded.length): string {
  let s = line;
  for (let i = from; i < to; i++) s += `,${encoded[i]}`;
  return s;
}
