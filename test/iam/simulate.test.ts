/**
 * The simulation on the synthesized dev app with hand-made recordings: allowed calls (with the KMS calls they imply),
 * denied calls explained (function, action, resource, what is missing), and the verdict of the report.
 */
import { JUSTIFICATIONS } from '../../local/iam/justifications';
import { IamModel, type PrincipalInfo } from '../../local/iam/model';
import type { RecordedCall, Recording } from '../../local/iam/recorder';
import { proofReport } from '../../local/iam/report';
import { deriveRequests } from '../../local/iam/requests';
import { simulate } from '../../local/iam/simulate';
import { synthesizeApp } from '../../local/runtime/synth';

jest.setTimeout(120_000);

let model: IamModel;
const fn = (path: string): PrincipalInfo => {
  const p = [...model.principals.values()].find((x) => x.path === path);
  if (!p) throw new Error(`no principal ${path}`);
  return p;
};
const call = (path: string, service: string, operation: string, input: Record<string, unknown>): RecordedCall => {
  const p = fn(path);
  return {
    principal: { kind: p.kind, arn: p.arn },
    service,
    operation,
    region: model.region,
    requests: deriveRequests(service, operation, input, { region: model.region, account: model.account }),
  };
};
const recording = (calls: RecordedCall[]): Recording => ({ calls, tasks: [], ran: calls.map((c) => c.principal!.arn) });

beforeAll(() => {
  model = new IamModel(synthesizeApp({ context: { env: 'dev' } }), { region: 'us-east-1' });
});

describe('simulate', () => {
  it('allows a publish to the function’s own encrypted topic, KMS calls included, and marks the grants used', async () => {
    const role = model.role(fn('Workflow/NotifyFunction').roleArn)!;
    const topic = JSON.stringify(role.policies).match(/arn:aws:sns:[^"]+/)![0];
    const sim = await simulate(
      model,
      recording([call('Workflow/NotifyFunction', 'SNS', 'Publish', { TopicArn: topic })]),
    );
    expect(sim.denied).toEqual([]);
    expect(sim.checked.map((c) => c.request.action).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sns:Publish',
    ]);
    const used = sim.grants.filter((g) => g.role === role && g.used).map((g) => g.action);
    expect(used.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sns:Publish']);
  });

  it('denies a call the role does not grant and says what is missing', async () => {
    const features = [
      ...JSON.stringify(model.roles.get(fn('ReconcileFunction').roleArn)!.policies).matchAll(/arn:aws:s3:::([^"/]+)/g),
    ][0]![1]!;
    const sim = await simulate(
      model,
      recording([call('Workflow/NotifyFunction', 'S3', 'GetObject', { Bucket: features, Key: 'inference/x.csv' })]),
    );
    expect(sim.denied.map((d) => [d.principal.path, d.request.action, d.request.resource])).toEqual([
      ['Workflow/NotifyFunction', 's3:GetObject', `arn:aws:s3:::${features}/inference/x.csv`],
      ['Workflow/NotifyFunction', 'kms:Decrypt', expect.stringMatching(/^arn:aws:kms:/)],
    ]);
    expect(sim.denied[0]!.missing).toBe(
      `an Allow of s3:GetObject on arn:aws:s3:::${features}/inference/x.csv in role Workflow/NotifyFunctionRole; it grants no s3:GetObject`,
    );
    const report = proofReport(sim, model, JUSTIFICATIONS);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatch(
      /^DENIED Workflow\/NotifyFunction: s3:GetObject on arn:aws:s3:::.*\(S3 GetObject, 1×\) — missing: /,
    );
  });

  it('requires Resource "*" for an action without resource types (ListModelPackages scoped to a group is denied)', async () => {
    const resolve = fn('Workflow/ResolveModelFunction');
    const list = call('Workflow/ResolveModelFunction', 'SageMaker', 'ListModelPackages', {
      ModelPackageGroupName: 'g',
    });
    expect((await simulate(model, recording([list]))).denied).toEqual([]);
    // The same role with ListModelPackages scoped to the group, as the batch stack once had it.
    const role = model.role(resolve.roleArn)!;
    const stmt = role.policies
      .flatMap((p) => p.document.Statement)
      .find((s) => [s.Action].flat().includes('sagemaker:ListModelPackages'))!;
    const original = stmt.Resource;
    (stmt as Record<string, unknown>).Resource = 'arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g';
    try {
      const sim = await simulate(model, recording([list]));
      expect(sim.denied.map((d) => d.missing)).toEqual([
        'an Allow of sagemaker:ListModelPackages on * in role Workflow/ResolveModelFunctionRole (the action takes no resource: the statement needs Resource "*"); it grants sagemaker:ListModelPackages only on "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g"',
      ]);
    } finally {
      (stmt as Record<string, unknown>).Resource = original;
    }
  });

  it('reports calls it cannot check and unexercised grants nobody justified', async () => {
    const sim = await simulate(model, {
      calls: [
        {
          principal: { kind: 'function', arn: 'arn:aws:lambda:us-east-1:123456789012:function:nope' },
          service: 'S3',
          operation: 'GetObject',
          region: 'us-east-1',
          requests: [],
        },
        {
          ...call('Workflow/NotifyFunction', 'SNS', 'Publish', { TopicArn: 'arn:x' }),
          requests: [],
          error: 'no IAM rule for SNS Foo',
        },
      ],
      tasks: [],
      ran: [],
    });
    expect(sim.unchecked.map((u) => u.error)).toEqual([
      'not a function or state machine of the synthesized app',
      'no IAM rule for SNS Foo',
    ]);
    const report = proofReport(sim, model, []);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^UNEXERCISED Workflow\/NotifyFunctionRole: sns:Publish on arn:aws:sns:\{region\}:\{account\}:\{AlertTopic\} — no recorded call uses it: remove the grant, or justify it in local\/iam\/justifications\.ts/,
        ),
        'NEVER RAN Workflow/NotifyFunction: no recorded run invoked it; add it to the proof run (local/iam/proof-run.ts)',
      ]),
    );
  });
});
