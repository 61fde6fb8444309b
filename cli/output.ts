/**
 * What the CLI writes: the command's result on stdout (a table or line for people, exactly one JSON document with
 * `--json`), everything else on stderr. Handlers run in-process by `--local` log through Powertools and console, which
 * write to process.stdout; while a command runs, {@link guardStdout} sends such stray writes to stderr, so stdout
 * holds the result and nothing else.
 */

type Write = (chunk: string) => boolean;

let resultWrite: Write | undefined;

/**
 * Route process.stdout writes to stderr until the returned function is called; {@link writeResult} (and commander's
 * help, see cli/program.ts) still reach stdout.
 */
export function guardStdout(): () => void {
  const original = process.stdout.write;
  const toStdout = original.bind(process.stdout) as Write;
  resultWrite = toStdout;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    (process.stderr.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(
      chunk,
      ...rest,
    )) as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
    resultWrite = undefined;
  };
}

/** Write the command's result to the real stdout. */
export function writeResult(text: string): void {
  (resultWrite ?? (process.stdout.write.bind(process.stdout) as Write))(text);
}

export interface OutputOptions {
  readonly json?: boolean;
}

/** The result: JSON with `--json`, otherwise what `human` renders. */
export function print(opts: OutputOptions, data: unknown, human: () => string): void {
  writeResult(opts.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** Columns padded to their widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A number with fixed digits, `-` when absent. */
export const fmt = (n: number | undefined, digits = 4): string =>
  n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);

/** One line of at most `max` characters (whitespace collapsed, `…` when cut). */
export function oneLine(text: string | undefined, max = Number.POSITIVE_INFINITY): string {
  const s = (text ?? '').replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
}
