import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** cdk.json's context with settings of the dev environment's `batch` block replaced (for synthesizeApp). */
export function devContextWithBatch(batch: Record<string, unknown>): Record<string, unknown> {
  const cdk = JSON.parse(readFileSync(join(__dirname, '../../cdk.json'), 'utf8')) as {
    context: { environments: Record<string, { batch?: Record<string, unknown> }> };
  };
  const envs = cdk.context.environments;
  return { environments: { ...envs, dev: { ...envs.dev, batch: { ...envs.dev?.batch, ...batch } } } };
}
