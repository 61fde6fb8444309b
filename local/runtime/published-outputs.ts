/**
 * The synthesized stacks' outputs, published in the emulator as CloudFormation stacks of the same names (one
 * placeholder resource each, the outputs as literal values). The CLI finds a deployed environment's resources through
 * DescribeStacks; with these, `mlops-batch --local` finds the provisioned local resources the same way, in one call,
 * instead of synthesizing the whole app for every command.
 */
import {
  AlreadyExistsException,
  type CloudFormationClient,
  CreateStackCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import type { LocalResources } from './inventory';

/** Tag on every published stack: what it is and who wrote it. */
export const PUBLISHED_OUTPUTS_TAG = { Key: 'mlops:local', Value: 'published-outputs' } as const;

/** Stack name → (output key → value) of the synthesized app (string outputs only). */
export function outputsByStack(resources: LocalResources): Map<string, Record<string, string>> {
  const byStack = new Map<string, Record<string, string>>();
  for (const [qualified, value] of Object.entries(resources.outputs)) {
    const dot = qualified.indexOf('.');
    if (dot < 1 || typeof value !== 'string' || value === '') continue;
    const stack = qualified.slice(0, dot);
    const outputs = byStack.get(stack) ?? {};
    outputs[qualified.slice(dot + 1)] = value;
    byStack.set(stack, outputs);
  }
  return byStack;
}

function templateOf(outputs: Record<string, string>): string {
  return JSON.stringify({
    Description: 'Outputs of the synthesized stack of the same name, published by the local runtime (provision)',
    // A stack needs a resource; a wait-condition handle creates nothing.
    Resources: { PublishedOutputs: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
  });
}

/**
 * Create (or update) one CloudFormation stack per synthesized stack holding its outputs.
 * @returns the stack names
 */
export async function publishOutputs(resources: LocalResources, cfn: CloudFormationClient): Promise<string[]> {
  const names: string[] = [];
  for (const [stackName, outputs] of outputsByStack(resources)) {
    const input = { StackName: stackName, TemplateBody: templateOf(outputs), Tags: [{ ...PUBLISHED_OUTPUTS_TAG }] };
    try {
      await cfn.send(new CreateStackCommand(input));
    } catch (e) {
      if (!(e instanceof AlreadyExistsException || (e as Error).name === 'AlreadyExistsException')) throw e;
      await cfn.send(new UpdateStackCommand(input)).catch((u: Error) => {
        // Same outputs as before: CloudFormation answers "No updates are to be performed".
        if (!/no updates/i.test(u.message)) throw u;
      });
    }
    names.push(stackName);
  }
  return names;
}
