/**
 * One recorded run of the whole pipeline for the IAM proof: `npm run local`'s pipeline (arrivals, Training,
 * approval, four BatchInference runs) with the recorder installed, then the functions that pipeline never reaches
 * (the failure handlers, the reconcile function, the read API) invoked once each the way their triggers would, so
 * every function of the app runs as its own role at least once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runLocal } from '../demo/run';
import type { LocalResources } from '../runtime/inventory';
import { invokeFunction, type RunnableFunction } from '../runtime/lambda-invoke';
import { type Recording, startRecording, stopRecording } from './recorder';

export interface ProofRunOptions {
  /** Customers per snapshot (enough for the model gate). @default 2000 */
  readonly customers?: number;
  readonly env?: string;
  /** Where the run's report goes. @default a new temporary directory */
  readonly outDir?: string;
  readonly print?: (line: string) => void;
}

/** The functions of the app with a handler of ours whose entry ends with `suffix`. */
function functionsWith(resources: LocalResources, entry: string): RunnableFunction[] {
  return Object.entries(resources.functions)
    .filter(([, f]) => f.entry === entry)
    .map(([logicalId, f]) => ({ ...f, logicalId }));
}

/** Invoke the functions the pipeline run does not reach, each with the event its trigger sends. */
async function invokeTheRest(
  resources: LocalResources,
  env: Record<string, string>,
  runs: { training: string; batch: string },
): Promise<void> {
  const opts = { env, region: resources.region, account: resources.account };
  for (const fn of functionsWith(resources, 'lambdas/functions/record-failure/handler.ts')) {
    const kind = (fn.logicalId ?? '').startsWith('Training') ? 'training' : 'batch';
    await invokeFunction(
      fn,
      // A Distributed Map's error, so RecordFailure also looks for the failed item in the run's ResultWriter files.
      {
        runId: runs[kind],
        kind,
        error: { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'IAM proof: the failure path' },
      },
      opts,
    );
  }
  for (const fn of functionsWith(resources, 'lambdas/functions/reconcile/handler.ts')) {
    await invokeFunction(fn, {}, opts); // the schedule's input: reconcile everything under inference/
  }
  for (const fn of functionsWith(resources, 'lambdas/functions/read-scores/handler.ts')) {
    await invokeFunction(
      fn,
      { httpMethod: 'GET', resource: '/scores/{entityId}', path: '/scores/X1', pathParameters: { entityId: 'X1' } },
      opts,
    );
  }
}

/**
 * Run `fn` with stdout and stderr muted: the failure handler logs its (deliberate) failure at ERROR, which the shared handler
 * logger, created before this run with the local level, would print (to stderr) into the check's output.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Run and record the pipeline; the services are stopped before this resolves. */
export async function recordPipeline(
  options: ProofRunOptions = {},
): Promise<{ recording: Recording; resources: LocalResources }> {
  startRecording();
  let stop: (() => Promise<void>) | undefined;
  try {
    const result = await runLocal({
      customers: options.customers ?? 2000,
      seed: 7,
      env: options.env ?? 'dev',
      outDir: options.outDir ?? mkdtempSync(path.join(tmpdir(), 'iam-proof-')),
      keep: true,
      print: options.print ?? (() => undefined),
    });
    stop = async () => {
      await result.stop();
    };
    const env = {
      AWS_ENDPOINT_URL: result.endpoints.moto,
      REDIS_URL: result.endpoints.redis,
      AWS_REGION: result.resources.region,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const batch = result.batches[0]?.run.name;
    if (!batch) throw new Error('The pipeline run made no BatchInference run');
    await quietly(() => invokeTheRest(result.resources, env, { training: result.training.name, batch }));
    return { recording: stopRecording(), resources: result.resources };
  } catch (e) {
    stopRecording();
    throw e;
  } finally {
    await stop?.();
  }
}
