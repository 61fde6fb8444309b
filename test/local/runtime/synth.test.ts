import { type SynthesizedApp, synthesizeApp } from '../../../local/runtime/synth';
import { buildFixtureApp } from './fixtures/fixture-app';

let app: SynthesizedApp;
beforeAll(() => {
  app = synthesizeApp({ build: buildFixtureApp, useCdkJson: false });
});

describe('synthesizeApp', () => {
  it('returns every stack with its template', () => {
    expect(app.stacks.map((s) => s.stackName).sort()).toEqual(['Fixture-Data', 'Fixture-Flow']);
    const flow = app.stacks.find((s) => s.stackName === 'Fixture-Flow')!;
    expect(
      Object.values(flow.template.Resources ?? {}).some((r) => r.Type === 'AWS::StepFunctions::StateMachine'),
    ).toBe(true);
  });
  it('restores CDK_VALIDATION afterwards', () => {
    expect(process.env.CDK_VALIDATION).toBeUndefined();
  });
});
