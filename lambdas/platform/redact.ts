/**
 * The one redaction point for errors leaving a function (logs, and anything that serializes an error).
 *
 * An error keeps only its name, message, stack, a short string `code` and its cause (redacted the same way, at most
 * 5 deep). Every other property is dropped: they are where clients put what they sent (an ioredis ReplyError's
 * `command: { name: 'auth', args: [token] }`, an HTTP client's request). Secrets that can appear in text — a
 * connection URL's `user:password@`, `AUTH <token>`, `password=…` — are masked in the message and the stack.
 */
export interface RedactedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: RedactedError | string;
}

const MASKS: readonly [RegExp, string][] = [
  [/\b(rediss?|https?|valkey):\/\/[^\s/@]*@/gi, '$1://***@'],
  [/\bAUTH\s+\S+(\s+\S+)?/gi, 'AUTH ***'],
  [/\b(password|passwd|token|secret|authToken|auth_token)(["']?\s*[=:]\s*["']?)[^\s"',}]+/gi, '$1$2***'],
];

/** Mask secrets that can appear in an error's text. */
export function redactText(text: string): string {
  let out = text;
  for (const [re, to] of MASKS) out = out.replace(re, to);
  return out;
}

export function redactError(err: unknown, depth = 0): RedactedError {
  if (!(err instanceof Error)) return { name: 'Error', message: redactText(String(err)) };
  const e = err as Error & { code?: unknown };
  const out: RedactedError = { name: e.name, message: redactText(e.message) };
  if (typeof e.stack === 'string') out.stack = redactText(e.stack);
  if (typeof e.code === 'string' && e.code.length <= 64) out.code = e.code;
  if (e.cause !== undefined && depth < 5) {
    out.cause = e.cause instanceof Error ? redactError(e.cause, depth + 1) : redactText(String(e.cause));
  }
  return out;
}
