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

/**
 * Synthesize and return the validation report. In-memory synthesis throws when a rule pack reports an error; the report
 * is written before that, so read it anyway and let the assertions list the findings.
 */
function synthReport(app: App, dir: string): ValidationReport {
  try {
    app.synth();
  } catch (err) {
    if (!fs.existsSync(path.join(dir, 'validation-report.json'))) throw err;
  }
  return JSON.parse(fs.readFileSync(path.join(dir, 'validation-report.json'), 'utf8')) as ValidationReport;
}

// CDK's built-in CloudFormation validation also runs in 'cdk synth' (CI); here only cdk-nag is under test.
process.env.CDK_VALIDATION = 'false';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-app-'));
// The whole app (every stack bin/app.ts wires) per environment of cdk.json, each built and synthesized once, with
// cdk-nag attached by createApp. Both environments, because acknowledgements can depend on config (e.g. single-node
// cache in dev only).
const ENVS = ['dev', 'prod'] as const;
const builds = Object.fromEntries(
  ENVS.map((env) => {
    const dir = path.join(outdir, env);
    const built = createApp({ context: testContext({ env }), outdir: dir });
    const nag = synthReport(built.app, dir).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    return [env, { built, nag }];
  }),
) as Record<
  (typeof ENVS)[number],
  { built: ReturnType<typeof createApp>; nag: ValidationReport['pluginReports'][number] | undefined }
>;
const built = builds.dev.built;

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

describe.each(ENVS)('cdk-nag AwsSolutions on the whole app (%s)', (env) => {
  const { nag } = builds[env];

  test('the AwsSolutions pack ran', () => {
    expect(builds[env].built.config.envName).toBe(env);
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
    // Read the synthesized template (already written), so this check does not depend on the nag verdict.
    const file = path.join(outdir, 'dev', built.monitoring.templateFile);
    const alarms = Template.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))).findResources('AWS::CloudWatch::Alarm');
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
    const dir = fs.mkdtempSync(path.join(outdir, 'neg-'));
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir: dir });
    const stack = new Stack(app, 'Neg');
    const bucket = new s3.Bucket(stack, 'Bucket', { enforceSSL: false });
    // Acknowledging only S1 leaves S10 (SSL) open.
    acknowledge(bucket, { id: 'AwsSolutions-S1', reason: 'test: server access logs deliberately off here' });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // In-memory synthesis throws on an error finding, with the report in the message.
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
    const report = synthReport(app, dir).pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(report?.violations.map((v) => v.ruleName)).toEqual(['AwsSolutions-S10']);
    expect(report?.suppressedViolations?.map((v) => v.ruleName)).toEqual(['AwsSolutions-S1']);
    const message = JSON.stringify(report?.violations);
    expect(message).not.toMatch(/AwsSolutions-S1\b(?!0)/);
  });

  test('acknowledge() refuses a finding id without a rule pack or a reason without substance', () => {
    const stack = new Stack(new App(), 'S');
    expect(() => acknowledge(stack, { id: 'S1', reason: 'a reason that is long enough' })).toThrow(/not a finding id/);
    expect(() => acknowledge(stack, { id: 'AwsSolutions-S1', reason: 'ok' })).toThrow(/reason must say why/);
  });
});
