import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cdkJsonContext } from './context';

const root = join(__dirname, '..', '..');

/**
 * The synth entry point (bin/app.ts, what `npx cdk synth` runs) on one bad config: it must exit non-zero with the one
 * refusal line and no stack trace. The context goes in the way the CDK CLI passes it (CDK_CONTEXT_JSON).
 */
test('a bad config makes the synth entry point exit 1 with one line and no stack trace', () => {
  const context = cdkJsonContext() as { environments: Record<string, Record<string, unknown>> };
  const environments = {
    ...context.environments,
    dev: { ...context.environments.dev, schedule: { cron: 'cron(0 2 * * * *)' } },
  };
  const outdir = mkdtempSync(join(tmpdir(), 'synth-refusal-'));
  try {
    const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ ...context, environments, env: 'dev' }),
        CDK_OUTDIR: outdir,
        CDK_VALIDATION: 'false',
      },
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringContaining(
        'environments.dev.schedule.cron = "cron(0 2 * * * *)" is not allowed: expected cron(<minutes> <hours>',
      ),
    ]);
    expect(lines[0]).toContain('exactly one of them must be "?"');
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
