/**
 * The IAM proof: the whole pipeline runs once (local/iam/proof-run.ts: `npm run local`'s pipeline plus the functions
 * it does not reach) against moto_server, redis-server and XGBoost with every AWS SDK call recorded per function and
 * every Task state per state machine, and each is simulated against the synthesized role and resource policies.
 * Fails on any denied call, any call it cannot check, any function that never ran and any granted action that no
 * call exercised and local/iam/justifications.ts does not justify — each named in the failure.
 */
import { iamCheck } from '../../local/iam/check';
import type { ProofReport } from '../../local/iam/report';
import { describeWithServers } from '../support/servers';

// npm run local's pipeline (two trainings, six batch runs) and the proof; a loaded shared machine needs the margin.
jest.setTimeout(480_000);

describeWithServers('IAM proof (npm run iam-check)', { moto: true, redis: true, xgboost: true }, () => {
  let report: ProofReport;

  beforeAll(async () => {
    report = await iamCheck();
  });

  it('finds no denied call, nothing unchecked and no unjustified grant', () => {
    // The problems name function, action, resource and what is missing; the full report follows them.
    expect(report.problems).toEqual([]);
    expect(report.figures.denied).toBe(0);
  });

  it('saw the calls of every function and state machine', () => {
    expect(report.figures.attributedCalls).toBeGreaterThan(100);
    expect(report.figures.taskStates).toBeGreaterThan(20);
    expect(report.figures.principals).toBeGreaterThanOrEqual(18);
    expect(report.lines.join('\n')).toMatch(/denied +0\n/);
  });
});
