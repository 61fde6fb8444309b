#!/usr/bin/env node
import type { Command } from 'commander';
import { CommanderError } from 'commander';
import { CliUsageError, RunFailedError } from '../cli/errors';
import { guardStdout } from '../cli/output';
import { buildProgram as buildCommands } from '../cli/program';
import { PipelineError } from '../contracts/errors';

/**
 * `mlops-batch`: the operator CLI. Against AWS (default credential chain; resources from the stacks' outputs) or,
 * with `--local` (or AWS_ENDPOINT_URL set), against the local runtime's moto_server / redis-server.
 *
 * stdout holds the result only: a short table or line for people, or exactly one JSON document with `--json` (a
 * failed run's summary included). Every failure is one line on stderr and a non-zero exit code: 1 for a failed
 * operation or run, 2 for bad arguments. The commands live in cli/ (one module per group); `local` is here because
 * it runs the demo, which cli/ does not reach.
 */

/*
 * Loaded on first use: `local` runs the whole demo. A typed `require`, not `import()`: the npx launcher
 * (bin/mlops-batch.js) registers tsx for CommonJS only, and Node's own `import()` cannot load a .ts module.
 */
const localDemo = (): typeof import('../local/demo/run') => require('../local/demo/run');

export function buildProgram(): Command {
  const program = buildCommands();
  program
    .command('local')
    .description('run the whole pipeline locally (same as npm run local; options: --customers N, --keep)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (_o: unknown, cmd: Command) => {
      process.exitCode = await localDemo().main(cmd.args);
    });
  return program;
}

/** The one stderr line of a failure: the message, prefixed by the error's name unless it is one of ours. */
function failureLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const kind =
    err instanceof PipelineError || err instanceof RunFailedError
      ? ''
      : err instanceof Error && err.name !== 'Error'
        ? `${err.name}: `
        : '';
  return `mlops-batch: ${kind}${message.replace(/\s*\n\s*/g, ' ')}\n`;
}

/** The command named on the command line (the first word after the global options). */
function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-e' || a === '--env') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  // The SDK's "node >= 22 from 2027" notice is not about this command; failures stay one line on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = buildProgram();
  // `local` prints its progress as it goes: it owns stdout.
  const release = commandOf(argv) === 'local' ? () => undefined : guardStdout();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (and help for --help/--version, which exit 0).
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(failureLine(err));
    return err instanceof CliUsageError ? 2 : 1;
  } finally {
    release();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
