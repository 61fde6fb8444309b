/**
 * Timeouts of the SageMaker `.sync` states the stand-ins replace. Step Functions lets a Task without TimeoutSeconds run
 * for as long as the job does (the job's own StoppingCondition bounds it); aws-local-stepfunctions fails such a Task
 * after 60 s, which real XGBoost training on a few hundred thousand rows exceeds. The states get an explicit
 * TimeoutSeconds instead: 24 days, the longest timer Node.js can set (2^31 - 1 ms).
 */

const LOCAL_SYNC_TIMEOUT_SECONDS = 2_000_000;
const SAGEMAKER_SYNC = /:states:::sagemaker:\w+\.sync$/;

type States = Record<string, Record<string, unknown>>;

function patch(states: States): States {
  const out: States = {};
  for (const [name, state] of Object.entries(states)) {
    let s = state;
    if (s.Type === 'Task' && typeof s.Resource === 'string' && SAGEMAKER_SYNC.test(s.Resource)) {
      if (s.TimeoutSeconds === undefined && s.TimeoutSecondsPath === undefined) {
        s = { ...s, TimeoutSeconds: LOCAL_SYNC_TIMEOUT_SECONDS };
      }
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

/** The definition with every SageMaker `.sync` Task that has no timeout given the local one. */
export function withSyncTaskTimeouts<T extends { readonly States: Record<string, unknown> }>(definition: T): T {
  return { ...definition, States: patch(definition.States as States) };
}
