import * as fs from 'node:fs';
import * as path from 'node:path';

/** Context of cdk.json (feature flags + environments), as the CDK CLI passes it to the app. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** cdk.json context plus "skip bundling for every stack" (infra tests never run esbuild). */
export function testContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...extra };
}
