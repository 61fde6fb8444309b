import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { createApp } from '../../bin/app';
import { ProjectFunction } from '../../lib/constructs/project-function';
import { acknowledge } from '../../lib/nag';
import { testContext } from './context';

interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
  reason?: string;
  acknowledgedId?: string;
}
interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: Violation[];
    suppressedViolations?: Violation[];
  }[];
}

function synthReport(app: App): ValidationReport {
  const assembly = app.synth();
  return JSON.parse(
    fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8'),
  ) as ValidationReport;
}

// CDK's built-in CloudFormation validation also runs in 'cdk synth' (CI); here only cdk-nag is under test.
process.env.CDK_VALIDATION = 'false';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-app-'));
// The whole app (every stack bin/app.ts wires), built and synthesized once, with cdk-nag attached by createApp.
const built = createApp({ context: testContext(), outdir });
const report = synthReport(built.app);
const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

describe('cdk-nag AwsSolutions on the whole app', () => {
  test('the AwsSolutions pack ran', () => {
    expect(nag).toBeDefined();
  });

  test('zero unacknowledged findings (errors and warnings)', () => {
    const open = (nag?.violations ?? []).map(
      (v) => `${v.severity} ${v.ruleName} at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`,
    );
    expect(open).toEqual([]);
    expect(nag?.conclusion).toBe('success');
  });

  test('every acknowledgement carries a specific reason', () => {
    for (const v of nag?.suppressedViolations ?? []) {
      expect(v.acknowledgedId).toBe(`AwsSolutions::${v.ruleName}`);
      expect((v.reason ?? '').length).toBeGreaterThanOrEqual(20);
    }
  });
});

describe('whole-app wiring', () => {
  test('monitoring has an error alarm for every project function in every stack', () => {
    const functions = built.app.node
      .findAll()
      .filter((c): c is ProjectFunction => c instanceof ProjectFunction)
      .map((fn) => `${Stack.of(fn).node.id}-${fn.node.id}`);
    expect(functions.length).toBeGreaterThan(3);
    const alarms = Template.fromStack(built.monitoring).findResources('AWS::CloudWatch::Alarm');
    const faultAlarms = Object.values(alarms)
      .map((a) => a.Properties.AlarmName as string)
      .filter((n) => n.endsWith('-Fault-Count-Critical') && !n.includes('ReadApi'));
    expect(faultAlarms.sort()).toEqual(
      functions.map((f) => `${built.config.namePrefix}-${built.config.envName}-${f}-Fault-Count-Critical`).sort(),
    );
  });
});

describe('the nag check can fail', () => {
  test('an unencrypted, unlogged bucket without TLS enforcement is reported; acknowledging needs the exact id', () => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      outdir: fs.mkdtempSync(path.join(outdir, 'neg-')),
    });
    const stack = new Stack(app, 'Neg');
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: false });
    // Acknowledging only S1 leaves S10 (SSL) open.
    acknowledge(bucket, { id: 'AwsSolutions-S1', reason: 'test: server access logs deliberately off here' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let message = '';
    try {
      synthReport(app);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('AwsSolutions-S10');
    expect(message).not.toMatch(/AwsSolutions-S1\b(?!0)/);
  });

  test('acknowledge() refuses a finding id without a rule pack or a reason without substance', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => acknowledge(stack, { id: 'S1', reason: 'a reason that is long enough' })).toThrow(/not a finding id/);
    expect(() => acknowledge(stack, { id: 'AwsSolutions-S1', reason: 'ok' })).toThrow(/reason must say why/);
  });
});
