import { z } from 'zod';
import { ValidationError } from './errors';

/**
 * The feature data contract: which columns a feature CSV has, their types, ranges and allowed values, and its one
 * loader. The contract itself is `config/feature-contract.json`; the Lambdas bundle it (lambdas/data/contract.ts) and
 * `cdk synth` validates the same file with the same loader (lib/feature-contract.ts), so a bad contract is refused
 * before anything deploys.
 *
 * CSV conventions fixed here: UTF-8, comma-separated, one header row, an empty field is null. Booleans are the literals
 * `true` / `false`; the label is `0` / `1`; `as_of` is a calendar date `YYYY-MM-DD`.
 */

/** Column names: a letter first, then letters, digits and `_` (safe in CSV, SQL, metric dimensions). */
const columnName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'a column name: a letter, then letters, digits or _ (at most 63 characters)');

const numericBase = {
  name: columnName,
  nullable: z.boolean().default(false),
  description: z.string().optional(),
};

export const NumberFeatureSchema = z
  .object({ ...numericBase, type: z.literal('number'), min: z.number(), max: z.number() })
  .strict();
export const IntegerFeatureSchema = z
  .object({ ...numericBase, type: z.literal('integer'), min: z.number().int(), max: z.number().int() })
  .strict();
export const BooleanFeatureSchema = z
  .object({
    name: columnName,
    type: z.literal('boolean'),
    nullable: z.boolean().default(false),
    description: z.string().optional(),
  })
  .strict();
export const CategoryFeatureSchema = z
  .object({
    name: columnName,
    type: z.literal('category'),
    nullable: z.boolean().default(false),
    /** Allowed values, in the order the one-hot encoding uses. */
    categories: z.array(z.string().min(1, 'a non-empty category value')).min(1, 'at least one category'),
    description: z.string().optional(),
  })
  .strict();

export const FeatureSchema = z.discriminatedUnion('type', [
  NumberFeatureSchema,
  IntegerFeatureSchema,
  BooleanFeatureSchema,
  CategoryFeatureSchema,
]);

export const FeatureContractSchema = z
  .object({
    name: z.string().min(1),
    /** Contract version; recorded in every preprocessing spec and report. */
    version: z.string().regex(/^\d+\.\d+\.\d+$/, 'a semantic version such as 1.0.0'),
    description: z.string().optional(),
    entity: z
      .object({
        name: columnName,
        /**
         * Regular expression an entity id must match (JavaScript syntax, no flags; anchor it with ^…$). Required: ids
         * go into score-store keys and the read API, which accept only ENTITY_ID_PATTERN (contracts/score-layout.ts);
         * `cdk synth` refuses a pattern wider than that (contracts/entity-pattern.ts).
         */
        pattern: z.string({
          error: 'required: the regular expression entity ids must match, e.g. ^[A-Za-z0-9]{1,64}$',
        }),
      })
      .strict(),
    asOf: z.object({ name: columnName }).strict(),
    label: z
      .object({
        name: columnName,
        values: z.tuple([z.literal(0), z.literal(1)]).default([0, 1]),
      })
      .strict(),
    features: z.array(FeatureSchema).min(1, 'at least one feature'),
  })
  .strict();

export type FeatureContract = z.infer<typeof FeatureContractSchema>;
export type FeatureSpec = z.infer<typeof FeatureSchema>;
export type NumericFeatureSpec = z.infer<typeof NumberFeatureSchema> | z.infer<typeof IntegerFeatureSchema>;
export type CategoryFeatureSpec = z.infer<typeof CategoryFeatureSchema>;

/** One problem found in a contract file. */
export interface ContractProblem {
  /** JSON path such as `$.features[2].max`. */
  path: string;
  message: string;
}

/** Suffix of the generated null-indicator column of a nullable numeric feature (see the preprocessing spec in encoder.ts). */
export const NULL_INDICATOR_SUFFIX = '_is_null';
/** Columns the quarantine writer appends; no contract column may start with `_`, enforced by `columnName`. */
export const RESERVED_QUARANTINE_COLUMNS = ['_line', '_reasons'] as const;

export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][\w$]*$/.test(p)) out += `.${p}`;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

/** Checks zod cannot express per field: cross-field rules over the whole contract. */
function semanticProblems(c: FeatureContract): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const special: [string, string][] = [
    ['$.entity.name', c.entity.name],
    ['$.asOf.name', c.asOf.name],
    ['$.label.name', c.label.name],
  ];
  const seenSpecial = new Map<string, string>();
  for (const [path, name] of special) {
    const prev = seenSpecial.get(name);
    if (prev) problems.push({ path, message: `column "${name}" is already used by ${prev}` });
    else seenSpecial.set(name, path);
  }

  try {
    new RegExp(c.entity.pattern);
  } catch (e) {
    problems.push({ path: '$.entity.pattern', message: `not a valid regular expression: ${(e as Error).message}` });
  }

  const seen = new Map<string, number>();
  c.features.forEach((f, i) => {
    const path = `$.features[${i}]`;
    const prevIndex = seen.get(f.name);
    if (prevIndex !== undefined) {
      problems.push({
        path: `${path}.name`,
        message: `duplicate feature name "${f.name}" (also $.features[${prevIndex}])`,
      });
    } else {
      seen.set(f.name, i);
    }
    const specialPath = seenSpecial.get(f.name);
    if (specialPath) {
      problems.push({ path: `${path}.name`, message: `feature "${f.name}" is also the column of ${specialPath}` });
    }
    if (f.type === 'number' || f.type === 'integer') {
      if (!Number.isFinite(f.min) || !Number.isFinite(f.max)) {
        problems.push({ path, message: 'min and max must be finite numbers' });
      } else if (f.min > f.max) {
        problems.push({ path: `${path}.max`, message: `max (${f.max}) must be >= min (${f.min})` });
      }
    }
    if (f.type === 'category') {
      const cats = new Set<string>();
      f.categories.forEach((cat, j) => {
        if (cats.has(cat)) {
          problems.push({ path: `${path}.categories[${j}]`, message: `duplicate category "${cat}"` });
        }
        cats.add(cat);
        if (/[",\r\n]/.test(cat) || cat.trim() !== cat) {
          problems.push({
            path: `${path}.categories[${j}]`,
            message: `category "${cat}" must not contain a comma, quote, line break or surrounding spaces`,
          });
        }
      });
    }
  });
  // A generated indicator column must not clash with a real column.
  for (const f of c.features) {
    if ((f.type === 'number' || f.type === 'integer') && f.nullable) {
      const indicator = `${f.name}${NULL_INDICATOR_SUFFIX}`;
      const clash = seen.get(indicator);
      if (clash !== undefined) {
        problems.push({
          path: `$.features[${clash}].name`,
          message: `"${indicator}" clashes with the null indicator generated for nullable feature "${f.name}"`,
        });
      }
    }
  }
  return problems;
}

/**
 * Validate a contract. `raw` is the JSON text or the already parsed value; `source` names where it came from (a file
 * path or S3 URI) and appears in every error. Throws {@link ValidationError} whose `details` is `{ source, problems }`.
 */
export function loadContract(raw: unknown, source: string): FeatureContract {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      const problems = [{ path: '$', message: `not valid JSON: ${(e as Error).message}` }];
      throw new ValidationError(`Feature contract ${source} is invalid: $: ${problems[0]!.message}`, {
        source,
        problems,
      });
    }
  }
  const parsed = FeatureContractSchema.safeParse(value);
  const problems: ContractProblem[] = parsed.success
    ? semanticProblems(parsed.data)
    : parsed.error.issues.map((i) => ({ path: formatJsonPath(i.path), message: i.message }));
  if (problems.length > 0 || !parsed.success) {
    const list = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new ValidationError(`Feature contract ${source} is invalid (${problems.length} problem(s)): ${list}`, {
      source,
      problems,
    });
  }
  return parsed.data;
}
