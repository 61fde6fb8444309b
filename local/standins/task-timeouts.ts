/**
 * Task timeouts as Step Functions applies them. A Task without TimeoutSeconds has no state timeout there (a Lambda is
 * bounded by its own function timeout, a SageMaker `.sync` job by its StoppingCondition); aws-local-stepfunctions
 * fails such a Task after 60 s instead, which real XGBoost training, or FinalizeScores reading 5 000 part results on
 * a loaded machine, exceeds. Every Task without one gets an explicit TimeoutSeconds: 24 days, the longest timer
 * Node.js can set (2^31 - 1 ms). A TimeoutSeconds the definition gives is kept.
 */

const LOCAL_MAX_TIMEOUT_SECONDS = 2_000_000;

type States = Record<string, Record<string, unknown>>;

function patch(states: States): States {
  const out: States = {};
  for (const [name, state] of Object.entries(states)) {
    let s = state;
    if (s.Type === 'Task' && s.TimeoutSeconds === undefined && s.TimeoutSecondsPath === undefined) {
      s = { ...s, TimeoutSeconds: LOCAL_MAX_TIMEOUT_SECONDS };
    }
    for (const key of ['ItemProcessor', 'Iterator'] as const) {
      const inner = s[key] as { States?: States } | undefined;
      if (inner?.States) s = { ...s, [key]: { ...inner, States: patch(inner.States) } };
    }
    if (Array.isArray(s.Branches)) {
      s = { ...s, Branches: (s.Branches as { States: States }[]).map((b) => ({ ...b, States: patch(b.States) })) };
    }
    out[name] = s;
  }
  return out;
}

/** The definition with every Task that has no timeout given the local stand-in for "none" (nested ones too). */
export function withStepFunctionsTaskTimeouts<T extends { readonly States?: object }>(definition: T): T {
  if (definition.States === undefined) return definition;
  return { ...definition, States: patch(definition.States as States) };
}
