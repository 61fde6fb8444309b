/**
 * Invoke a Lambda handler module in-process the way Lambda would: the function's environment set, JSON in, JSON out,
 * a Lambda-like context, and a thrown error turned into what Step Functions sees from a Lambda task (its `name` as
 * the error, Lambda's `{errorType, errorMessage, trace}` JSON as the cause).
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Context } from 'aws-lambda';
import { runAs } from '../iam/context';
import type { LocalFunction } from './inventory';
import { LOCAL_ACCOUNT } from './names';
import { REPO_ROOT } from './synth';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A function the runner can invoke: what {@link resolveResources} returns per Lambda, or just entry + env. */
export type RunnableFunction = Pick<LocalFunction, 'entry' | 'environment'> &
  Partial<Pick<LocalFunction, 'arn' | 'name' | 'handlerExport' | 'timeoutSeconds' | 'memorySize' | 'logicalId'>>;

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const moduleCache = new Map<string, Handler>();

function loadHandler(fn: RunnableFunction): Handler {
  if (!fn.entry) {
    throw new Error(
      `Function ${fn.logicalId ?? fn.name ?? fn.arn ?? '?'} has no mlops:entry metadata; create it with ProjectFunction so the local runtime can find its handler`,
    );
  }
  const file = path.resolve(REPO_ROOT, fn.entry);
  const exportName = fn.handlerExport && fn.handlerExport !== 'index' ? fn.handlerExport : 'handler';
  const key = `${file}#${exportName}`;
  const cached = moduleCache.get(key);
  if (cached) return cached;
  const mod = require(file) as Record<string, unknown>;
  const h = mod[exportName] ?? mod.handler;
  if (typeof h !== 'function') throw new Error(`${fn.entry} does not export a function "${exportName}"`);
  const handler = h as Handler;
  moduleCache.set(key, handler);
  return handler;
}

function lambdaContext(fn: RunnableFunction, region: string, account: string): Context {
  const name = fn.name ?? fn.logicalId ?? path.basename(path.dirname(fn.entry ?? 'local'));
  const deadline = Date.now() + (fn.timeoutSeconds ?? 900) * 1000;
  const notImplemented = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn ?? `arn:aws:lambda:${region}:${account}:function:${name}`,
    memoryLimitInMB: String(fn.memorySize ?? 128),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: notImplemented,
    fail: notImplemented,
    succeed: notImplemented,
  };
}

/** An error as Step Functions sees it from a Lambda: `name` = errorType, message = Lambda's error JSON. */
class LambdaTaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

function toLambdaError(e: unknown): LambdaTaskError {
  const err = e instanceof Error ? e : new Error(String(e));
  const errorType = err.name || 'Error';
  const cause = JSON.stringify({
    errorType,
    errorMessage: err.message,
    trace: (err.stack ?? '').split('\n').slice(0, 8),
  });
  return new LambdaTaskError(errorType, cause);
}

/** A JSON round trip, as every Lambda payload makes (`undefined` becomes null). */
export const json = (v: unknown): JsonValue => (v === undefined ? null : (JSON.parse(JSON.stringify(v)) as JsonValue));

/** Invoke a handler module like Lambda would: JSON in, JSON out, the function's environment set. */
export async function invokeFunction(
  fn: RunnableFunction,
  event: unknown,
  opts: { env?: Readonly<Record<string, string>>; region?: string; account?: string } = {},
): Promise<unknown> {
  Object.assign(process.env, fn.environment, opts.env ?? {});
  const handler = loadHandler(fn);
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const context = lambdaContext(fn, region, opts.account ?? LOCAL_ACCOUNT);
  // Every AWS call the handler makes is attributed to this function (the IAM proof reads it: local/iam/).
  const principal = { kind: 'function' as const, arn: context.invokedFunctionArn, logicalId: fn.logicalId };
  try {
    const out = await runAs(principal, () => handler(json(event), context));
    return json(out);
  } catch (e) {
    throw toLambdaError(e);
  }
}
