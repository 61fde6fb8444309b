import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApplicationStacks } from '../../lib/application';
import { resolveCodeVersion } from '../../lib/code-version';
import { loadConfig } from '../../lib/config';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

describe('resolveCodeVersion', () => {
  test('CODE_VERSION wins over the CodeBuild commit', () => {
    expect(resolveCodeVersion({ CODE_VERSION: 'v1.2.3', CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc123' })).toBe('v1.2.3');
  });

  test('falls back to the commit CodeBuild checked out', () => {
    expect(resolveCodeVersion({ CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc123' })).toBe('abc123');
  });

  test('unknown without either (a local synth)', () => {
    expect(resolveCodeVersion({})).toBe('unknown');
  });
});

describe('createApplicationStacks', () => {
  /** CODE_VERSION of every function in `template` that has one. */
  const codeVersions = (template: Template): string[] =>
    Object.values(template.findResources('AWS::Lambda::Function'))
      .map((r) => (r.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables)
      .map((vars) => vars?.CODE_VERSION)
      .filter((v): v is string => typeof v === 'string');

  test('both workflows record the same resolved code version', () => {
    const saved = { ...process.env };
    process.env.CODEBUILD_RESOLVED_SOURCE_VERSION = 'commit-under-test';
    delete process.env.CODE_VERSION;
    try {
      const app = new App({ context: testContext() });
      const stacks = createApplicationStacks(app, loadConfig(app.node));
      const training = codeVersions(Template.fromStack(stacks.training));
      const batch = codeVersions(Template.fromStack(stacks.batch));
      expect(training.length).toBeGreaterThan(0);
      expect(batch.length).toBeGreaterThan(0);
      expect(new Set([...training, ...batch])).toEqual(new Set(['commit-under-test']));
    } finally {
      process.env = saved;
    }
  });
});
