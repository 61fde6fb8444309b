import type { z } from 'zod';

/** String keys of an object type (none for arrays and scalars), looking through `null`/`undefined`. */
type Keys<T> =
  NonNullable<T> extends readonly unknown[]
    ? never
    : NonNullable<T> extends object
      ? Extract<keyof NonNullable<T>, string>
      : never;
type At<T, K> = K extends keyof NonNullable<T> ? NonNullable<T>[K] : never;

/** A JSONPath into a typed object: `$.a`, `$.a.b`, `$.a.b.c`; each key must exist at its level. */
export interface JsonPathOf<T> {
  /** The root path itself. */
  (): string;
  <K1 extends Keys<T>>(k1: K1): string;
  <K1 extends Keys<T>, K2 extends Keys<At<T, K1>>>(k1: K1, k2: K2): string;
  <K1 extends Keys<T>, K2 extends Keys<At<T, K1>>, K3 extends Keys<At<At<T, K1>, K2>>>(k1: K1, k2: K2, k3: K3): string;
}

/**
 * JSONPaths into a state payload described by zod schemas, checked against them at compile time.
 *
 * `shape` maps each top-level key of the payload to its schema (for the state object: each key is the ResultPath of
 * the state that writes it). A key a schema does not have is a type error, so renaming a schema field breaks the
 * construct that still points at the old name instead of an execution.
 *
 * @example
 * const $ = jsonPathsOf({ data: PreparedDataSchema });
 * $('data', 'parts'); // '$.data.parts'
 *
 * @param root where the payload lives: `$` (the state input) or e.g. `$$.Map.Item.Value` (a Map item)
 */
export function jsonPathsOf<Shape extends Record<string, z.ZodType>>(
  _shape: Shape,
  root = '$',
): JsonPathOf<{ [K in keyof Shape]: z.infer<Shape[K]> }> {
  return ((...keys: string[]) => [root, ...keys].join('.')) as JsonPathOf<{ [K in keyof Shape]: z.infer<Shape[K]> }>;
}
