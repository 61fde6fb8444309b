/**
 * The version label of the code being deployed, recorded on every run and model package (`CODE_VERSION` of the
 * workflow functions): `CODE_VERSION` when set (a release build names it), else the commit CodeBuild checked out
 * (`CODEBUILD_RESOLVED_SOURCE_VERSION`, set in the pipeline's synth step), else `unknown` (a local synth).
 *
 * Resolved once per app (lib/application.ts) and passed to every stack, so both workflows record the same value.
 */
export function resolveCodeVersion(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.CODE_VERSION ?? env.CODEBUILD_RESOLVED_SOURCE_VERSION ?? 'unknown';
}
