import { Command } from 'commander';
import { type CliContext, defaultEnv, type GlobalOptions, resolveTarget } from './context';
import { addModelCommands } from './model-commands';
import { writeResult } from './output';
import { addRunCommands } from './run-commands';
import { addScoreCommands } from './score-commands';
import type { Target } from './target';

/**
 * The `mlops-batch` command tree: global options, then one module per command group (cli/*-commands.ts), each
 * registering its commands and loading its cores only when one of them runs — `--help` loads no SDK client.
 * A new group is a new `add…Commands(program, ctx)` here.
 */
export function buildProgram(): Command {
  const program = new Command('mlops-batch')
    .description('Operate the mlops-batch-pipeline: train, score, approve and roll back models, read scores.')
    .option('-e, --env <name>', 'environment (cdk.json context.environments)', defaultEnv())
    .option('--local', 'act on the local runtime (AWS_ENDPOINT_URL / REDIS_URL) instead of AWS')
    .option('--json', 'print exactly one JSON document on stdout (for scripts)')
    .configureOutput({
      // Help is the result of `--help`: it goes where results go (see cli/output.ts).
      writeOut: (text) => writeResult(text),
      // Usage errors are one line on stderr (like every other failure), with the hint on the same line.
      outputError: (message, write) => write(`${message.trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();

  let resolved: Promise<Target> | undefined;
  const ctx: CliContext = {
    opts: () => program.opts<GlobalOptions>(),
    target: () => {
      resolved ??= resolveTarget(program.opts<GlobalOptions>());
      return resolved;
    },
  };
  addRunCommands(program, ctx);
  addModelCommands(program, ctx);
  addScoreCommands(program, ctx);
  return program;
}
