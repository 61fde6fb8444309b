/**
 * Records every AWS SDK v3 call made while it is installed: which function or state machine made it (the principal
 * of local/iam/context.ts), the service, the operation and the authorization requests it implies (IAM action,
 * resource ARN, condition keys; local/iam/requests.ts), and every Task state a state machine ran.
 *
 * Installed only by the local runtime's callers that prove the IAM (`npm run local`, `npm run iam-check`, the test
 * suite): it patches `send` of the SDK's one `Client` class (@smithy/core/client, shared by every @aws-sdk client
 * and by lib-dynamodb's document client) in this process, so no handler or client factory carries a hook and the
 * deployed bundles contain none of it (test/iam/bundle.test.ts checks). The call is recorded before it is sent,
 * whether it then succeeds or fails: AWS authorizes a request before it looks at the data.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type CallPrincipal, currentPrincipal, onRun, onTaskInvocation, type TaskInvocation } from './context';
import { type AuthRequest, deriveRequests } from './requests';

/** One SDK call, as recorded. */
export interface RecordedCall {
  readonly principal: CallPrincipal | undefined;
  /** SDK service id (`S3`, `DynamoDB`, `SageMaker`, …). */
  readonly service: string;
  /** Operation (`GetObject`, `PutItem`, …). */
  readonly operation: string;
  readonly region: string;
  /** What IAM evaluates for it; empty with `error` set when the request could not be derived. */
  readonly requests: readonly AuthRequest[];
  readonly error?: string;
}

/** Everything one recording holds. */
export interface Recording {
  readonly calls: readonly RecordedCall[];
  readonly tasks: readonly TaskInvocation[];
  /** ARNs of every function invoked and state machine run, with or without AWS calls. */
  readonly ran: readonly string[];
}

interface SendTarget {
  send: (this: ClientLike, command: unknown, ...rest: unknown[]) => unknown;
}
interface ClientLike {
  readonly config: { readonly serviceId?: string; readonly region?: unknown };
  readonly middlewareStack: {
    add: (mw: unknown, options: Record<string, unknown>) => void;
  };
}
type Middleware = (
  next: (args: { input: unknown }) => Promise<unknown>,
  context: { commandName?: string },
) => (args: { input: unknown }) => Promise<unknown>;

const MIDDLEWARE_NAME = 'mlopsIamRecorder';
const NODE_MODULES = path.resolve(__dirname, '..', '..', 'node_modules');

let active: { calls: RecordedCall[]; tasks: TaskInvocation[]; ran: Set<string>; stop: () => void } | undefined;
const patched = new Map<SendTarget, SendTarget['send']>();
const instrumented = new WeakSet<object>();

/** Every distinct `Client` class the installed @aws-sdk clients use (one today; more if npm nests a copy). */
function clientClasses(): SendTarget[] {
  const scope = path.join(NODE_MODULES, '@aws-sdk');
  const found = new Set<SendTarget>();
  for (const dir of readdirSync(scope)) {
    if (!dir.startsWith('client-') && dir !== 'lib-dynamodb') continue;
    const file = require.resolve('@smithy/core/client', { paths: [path.join(scope, dir)] });
    const { Client } = require(file) as { Client: { prototype: SendTarget } };
    found.add(Client.prototype);
  }
  return [...found];
}

async function regionOf(client: ClientLike): Promise<string> {
  const r = client.config.region;
  const v = typeof r === 'function' ? await (r as () => Promise<unknown>)() : r;
  return typeof v === 'string' ? v : (process.env.AWS_REGION ?? 'us-east-1');
}

function recorderMiddleware(client: ClientLike): Middleware {
  return (next, context) => async (args) => {
    const rec = active;
    if (rec) {
      const service = client.config.serviceId ?? 'unknown';
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const region = await regionOf(client);
      const principal = currentPrincipal();
      try {
        const requests = deriveRequests(service, operation, args.input, { region, account: accountOf(principal) });
        rec.calls.push({ principal, service, operation, region, requests });
      } catch (e) {
        rec.calls.push({ principal, service, operation, region, requests: [], error: (e as Error).message });
      }
    }
    return next(args);
  };
}

/** The account in the principal's ARN (local ARNs all carry the local account). */
function accountOf(principal: CallPrincipal | undefined): string {
  return principal?.arn.split(':')[4] || '123456789012';
}

/** Start recording (idempotent patch; one recording at a time per process). */
export function startRecording(): void {
  if (active) throw new Error('An IAM recording is already running in this process');
  for (const proto of clientClasses()) {
    if (patched.has(proto)) continue;
    const original = proto.send;
    patched.set(proto, original);
    proto.send = function send(this: ClientLike, command: unknown, ...rest: unknown[]) {
      // lib-dynamodb's document client shares its client's middleware stack: instrument each stack once.
      if (!instrumented.has(this.middlewareStack)) {
        instrumented.add(this.middlewareStack);
        this.middlewareStack.add(recorderMiddleware(this), {
          step: 'initialize',
          name: MIDDLEWARE_NAME,
          priority: 'high',
          override: true,
        });
      }
      return original.call(this, command, ...rest);
    };
  }
  const tasks: TaskInvocation[] = [];
  const ran = new Set<string>();
  const stopTasks = onTaskInvocation((t) => {
    tasks.push(sanitizedTask(t));
    ran.add(t.stateMachineArn);
  });
  const stopRuns = onRun((p) => ran.add(p.arn));
  active = {
    calls: [],
    tasks,
    ran,
    stop: () => {
      stopTasks();
      stopRuns();
    },
  };
}

/** Stop recording and hand back what was recorded (the SDK stays patched but records nothing). */
export function stopRecording(): Recording {
  const rec = active;
  if (!rec) throw new Error('No IAM recording is running');
  active = undefined;
  rec.stop();
  return { calls: rec.calls, tasks: rec.tasks, ran: [...rec.ran] };
}

/** Whether a recording is running (the local runtime's callers check before starting one). */
export function isRecording(): boolean {
  return active !== undefined;
}

/** A Task's input as far as IAM needs it: names and ARNs, never payload bodies. */
function sanitizedTask(t: TaskInvocation): TaskInvocation {
  const input = t.input as Record<string, unknown> | null;
  if (!input || typeof input !== 'object') return { ...t, input: {} };
  const keep: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (k === 'Payload' || k === 'Message' || k === 'Item' || k === 'Key' || k === 'HyperParameters') continue;
    keep[k] = v;
  }
  return { ...t, input: keep };
}

/** Write a recording as JSON (what `npm run local` leaves in its output directory). */
export function writeRecording(file: string, recording: Recording): void {
  writeFileSync(file, `${JSON.stringify(recording, null, 1)}\n`);
}
