/**
 * B5 developer loop: wall time of `npx cdk synth --quiet` (into a scratch output directory, so the tree's cdk.out is
 * left alone) and of the full `npm test`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchEnv, type BenchResult, fixed, runChild, type Table } from './lib';

export async function runB5(env: BenchEnv): Promise<BenchResult> {
  const rows: string[][] = [];
  const notes: string[] = [];
  const synthOut = mkdtempSync(join(env.workDir, 'cdk-out-'));
  env.log('B5: npx cdk synth --quiet');
  const synth = await runChild('npx', ['cdk', 'synth', '--quiet', '--output', synthOut], {
    cwd: env.root,
    timeoutMs: 10 * 60_000,
  });
  rmSync(synthOut, { recursive: true, force: true });
  rows.push([
    'npx cdk synth --quiet',
    synth.code === 0 ? 'ok' : `FAILED (${synth.timedOut ? 'timed out' : (synth.code ?? synth.signal)})`,
    fixed(synth.wallMs / 1000, 1),
    '–',
  ]);
  if (synth.code !== 0) notes.push(`cdk synth output:\n${synth.tail.split('\n').slice(-10).join('\n')}`);

  env.log('B5: npm test (full suite; takes minutes)');
  const logFile = join(env.outDir, 'npm-test.log');
  const test = await runChild('npm', ['test', '--silent'], {
    cwd: env.root,
    env: { ...process.env, FORCE_COLOR: '0' },
    timeoutMs: 45 * 60_000,
  });
  writeFileSync(logFile, test.tail);
  const suites = /Test Suites:\s*([^\n]+)/.exec(test.tail)?.[1]?.trim();
  const tests = /Tests:\s*([^\n]+)/.exec(test.tail)?.[1]?.trim();
  rows.push([
    'npm test',
    test.code === 0 ? 'ok' : `FAILED (${test.timedOut ? 'timed out' : (test.code ?? test.signal)})`,
    fixed(test.wallMs / 1000, 1),
    [suites && `suites: ${suites}`, tests && `tests: ${tests}`].filter(Boolean).join('; ') || '–',
  ]);
  if (test.code !== 0) notes.push(`npm test did not pass; last lines in ${logFile}.`);
  notes.push(
    'npm test runs jest with 2 workers (jest.config.js); integration suites start their own moto_server/redis-server. Any other work on the machine (other test runs, builds) inflates these times.',
  );
  const table: Table = {
    title: 'B5 developer loop (wall time)',
    columns: ['command', 'result', 'seconds', 'summary'],
    rows,
  };
  return {
    id: 'B5',
    title: 'Developer loop',
    tables: [table],
    notes,
    data: { synthMs: synth.wallMs, testMs: test.wallMs, synthCode: synth.code, testCode: test.code, suites, tests },
  };
}
