/**
 * `npm run iam-check`: prove that every AWS call the code makes is allowed by the synthesized IAM.
 *
 * Runs the pipeline once with every SDK call recorded (local/iam/proof-run.ts; moto_server, redis-server and XGBoost
 * as for `npm run local`), or reads a recording `npm run local` left (`--recording local-run/iam-calls.json`), then
 * simulates each call against its function's or state machine's role and prints the figures. Exit code 1 when a call
 * would be denied or cannot be checked and, for the proof run (no --recording), when a function never ran or a
 * granted action is neither exercised nor justified in local/iam/justifications.ts.
 */
import { readFileSync } from 'node:fs';
import { resolveResources } from '../runtime/inventory';
import { synthesizeApp } from '../runtime/synth';
import { JUSTIFICATIONS } from './justifications';
import { IamModel } from './model';
import { recordPipeline } from './proof-run';
import type { Recording } from './recorder';
import { type ProofReport, proofReport } from './report';
import { simulate } from './simulate';

export interface CheckOptions {
  /** A recording to check instead of running the pipeline. */
  readonly recording?: string;
  /** Environment of cdk.json. @default 'dev' */
  readonly env?: string;
  readonly print?: (line: string) => void;
}

/** Record (or read) and judge; resolves with the report. */
export async function iamCheck(options: CheckOptions = {}): Promise<ProofReport> {
  const envName = options.env ?? 'dev';
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const print = options.print ?? (() => undefined);
  let recording: Recording;
  if (options.recording) {
    recording = JSON.parse(readFileSync(options.recording, 'utf8')) as Recording;
  } else {
    print(`Running the pipeline once (env ${envName}) with every AWS call recorded…`);
    recording = (await recordPipeline({ env: envName })).recording;
  }
  const app = synthesizeApp({ context: { env: envName } });
  const model = new IamModel(app, { region });
  const machines = resolveResources(app, { region }).stateMachines;
  // A recording of `npm run local` misses the failure paths the proof run adds: it proves the calls it holds.
  return proofReport(await simulate(model, recording, machines), model, JUSTIFICATIONS, {
    complete: options.recording === undefined,
  });
}

function parseArgs(argv: readonly string[]): CheckOptions {
  const o: { recording?: string; env?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--recording') o.recording = argv[++i];
    else if (a === '--env') o.env = argv[++i];
    else throw new Error(`unknown option ${a}; usage: npm run iam-check -- [--recording FILE] [--env NAME]`);
  }
  return o;
}

export async function main(argv: readonly string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out = (l: string) => process.stdout.write(`${l}\n`);
  try {
    const report = await iamCheck({ ...parseArgs(argv), print: out });
    for (const l of report.lines) out(l);
    out(report.ok ? 'IAM check passed.' : `IAM check FAILED: ${report.problems.length} problem(s) above.`);
    return report.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`npm run iam-check failed: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
