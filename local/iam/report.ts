/**
 * The IAM proof's verdict and what `npm run iam-check` prints: the figures, every denied call with what is missing,
 * every recorded call that could not be checked, and the grants no call exercised (justified or not).
 */
import type { Justification } from './justifications';
import type { IamModel } from './model';
import type { Grant, Simulated } from './simulate';

export interface ProofFigures {
  readonly sdkCalls: number;
  readonly attributedCalls: number;
  readonly taskStates: number;
  readonly distinct: number;
  readonly denied: number;
  readonly unchecked: number;
  readonly grants: number;
  readonly unexercised: number;
  readonly unjustified: number;
  readonly principals: number;
}

export interface ProofReport {
  readonly ok: boolean;
  readonly figures: ProofFigures;
  readonly lines: readonly string[];
  /** Failure lines only (what a test prints). */
  readonly problems: readonly string[];
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** The justification covering an unexercised grant, if any. */
export function justificationFor(
  grant: { readonly role: string; readonly action: string; readonly resource: string },
  justifications: readonly Justification[],
): Justification | undefined {
  return justifications.find(
    (j) =>
      (j.role === '*' || j.role === grant.role) &&
      glob(j.action).test(grant.action) &&
      (j.resource === undefined || j.resource === grant.resource || glob(j.resource).test(grant.resource)),
  );
}

function grantLine(g: Grant, model: IamModel): { role: string; action: string; resource: string } {
  return { role: g.role.path, action: g.action, resource: model.normalize(g.resource) };
}

/** One line per justification, with the grants it covers. */
function byJustification(
  grants: readonly { role: string; action: string; resource: string; why?: string }[],
): string[] {
  const groups = new Map<string, string[]>();
  for (const g of grants) {
    if (!g.why) continue;
    const list = groups.get(g.why) ?? [];
    list.push(`${g.role} ${g.action} ${g.resource}`);
    groups.set(g.why, list);
  }
  return [...groups].flatMap(([why, list]) => [`  ${list.length}× ${why}`, ...list.map((l) => `      ${l}`)]);
}

/**
 * Judge a simulation: denied = 0, every call checked and, for a complete recording (the proof run), every function
 * ran and every unexercised grant is justified. A partial recording (`npm run local`'s) proves the calls it saw: its
 * unexercised grants and functions that never ran are listed as notes.
 */
export function proofReport(
  sim: Simulated,
  model: IamModel,
  justifications: readonly Justification[],
  options: { readonly complete?: boolean } = {},
): ProofReport {
  const complete = options.complete ?? true;
  const distinct = new Set(sim.checked.map((c) => `${c.role.arn} ${c.request.action} ${c.request.resource}`)).size;
  const unused = sim.grants.filter((g) => !g.used).map((g) => grantLine(g, model));
  const justified = unused.map((g) => ({ ...g, why: justificationFor(g, justifications)?.why }));
  const unjustified = justified.filter((g) => !g.why);
  const figures: ProofFigures = {
    sdkCalls: sim.callsSeen,
    attributedCalls: sim.attributedCalls,
    taskStates: sim.tasksSeen,
    distinct,
    denied: sim.denied.length,
    unchecked: sim.unchecked.length,
    grants: sim.grants.length,
    unexercised: unused.length,
    unjustified: unjustified.length,
    principals: new Set(sim.checked.map((c) => c.principal.arn)).size,
  };
  const hard = [
    ...sim.denied.map(
      (d) =>
        `DENIED ${d.principal.path}: ${d.request.action} on ${d.request.resource} (${d.via}, ${d.calls}×) — missing: ${d.missing}`,
    ),
    ...sim.unchecked.map((u) => `NOT CHECKED ${u.who}: ${u.what} — ${u.error}`),
  ];
  const coverage = [
    ...unjustified.map(
      (g) =>
        `UNEXERCISED ${g.role}: ${g.action} on ${g.resource} — no recorded call uses it: remove the grant, or justify it in local/iam/justifications.ts ({ role: '${g.role}', action: '${g.action}', resource: '${g.resource}', why: '…' })`,
    ),
    ...sim.neverRan.map(
      (p) => `NEVER RAN ${p.path}: no recorded run invoked it; add it to the proof run (local/iam/proof-run.ts)`,
    ),
  ];
  const problems = complete ? [...hard, ...coverage] : hard;
  const notes = complete ? [] : coverage.map((c) => `note (partial recording): ${c}`);
  const lines = [
    'IAM proof: every recorded AWS call simulated against the synthesized policies (@cloud-copilot/iam-simulate)',
    `  calls seen                           ${figures.sdkCalls} SDK calls (${figures.attributedCalls} by our functions) + ${figures.taskStates} Task states`,
    `  principals                           ${figures.principals} (functions and state machines, each as its own role)`,
    `  distinct (principal, action, resource) ${figures.distinct}`,
    `  denied                               ${figures.denied}`,
    `  not checked                          ${figures.unchecked}`,
    `  granted (role, action, resource)     ${figures.grants}, never exercised ${figures.unexercised} (justified ${figures.unexercised - figures.unjustified}, unjustified ${figures.unjustified})`,
    '',
    ...(problems.length > 0 ? [...problems, ''] : []),
    ...(notes.length > 0 ? [...notes, ''] : []),
    'Granted, never exercised, by justification (local/iam/justifications.ts):',
    ...byJustification(justified),
  ];
  return { ok: problems.length === 0, figures, lines, problems };
}
