import { CloudFormationClient, paginateDescribeStacks } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../contracts/errors';
import { docClient, s3Client, sageMakerClient, sfnClient } from '../lambdas/platform/clients';

/**
 * Where the CLI acts: a deployed environment on AWS (resources found from the stacks' outputs, resolved here) or the
 * local runtime (moto_server at AWS_ENDPOINT_URL, redis-server at REDIS_URL; resources resolved from the synthesized
 * templates — the same names `npm run local` provisions — by cli/local-target.ts).
 */
export interface Target {
  readonly mode: 'aws' | 'local';
  readonly envName: string;
  /** Stack outputs by output key (e.g. `TableName`, `ModelPackageGroupName`). */
  readonly outputs: Readonly<Record<string, string>>;
  readonly clients: {
    readonly s3: S3Client;
    readonly doc: DynamoDBDocumentClient;
    readonly sm: SageMakerClient;
    readonly sfn: SFNClient;
  };
}

/** The value of a stack output; a missing one names what to deploy. */
export function output(target: Target, key: string): string {
  const exact = target.outputs[key];
  if (exact) return exact;
  // Outputs nested in constructs get a suffix/prefix in their logical id; accept one unique match ending with the key.
  const matches = Object.entries(target.outputs).filter(([k]) => k.endsWith(key) || k.startsWith(key));
  if (matches.length === 1 && matches[0]) return matches[0][1];
  const where =
    target.mode === 'aws' ? `the deployed stacks of environment "${target.envName}"` : 'the synthesized app';
  throw new NotFoundError(`Stack output ${key} not found in ${where}; deploy the stacks first (npx cdk deploy --all)`);
}

/** SDK clients of the default credential chain (AWS_ENDPOINT_URL, when set, points them at the local emulator). */
export function defaultClients(): Target['clients'] {
  return { s3: s3Client(), doc: docClient(), sm: sageMakerClient(), sfn: sfnClient() };
}

/** Stack name prefix of an environment, as `bin/app.ts` names the stacks: `<namePrefix>-<env>-`. */
export const stackPrefix = (namePrefix: string, envName: string) => `${namePrefix}-${envName}-`;

/** Outputs of every stack of the environment (DescribeStacks, default credential chain). */
export async function resolveAwsTarget(namePrefix: string, envName: string): Promise<Target> {
  const cfn = new CloudFormationClient({});
  const prefix = stackPrefix(namePrefix, envName);
  const outputs: Record<string, string> = {};
  let found = 0;
  for await (const page of paginateDescribeStacks({ client: cfn }, {})) {
    for (const stack of page.Stacks ?? []) {
      if (!stack.StackName?.startsWith(prefix)) continue;
      found++;
      for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
    }
  }
  if (found === 0) {
    throw new NotFoundError(
      `No stacks named ${prefix}* in this account/region; deploy with: npx cdk deploy --all -c env=${envName}`,
    );
  }
  return { mode: 'aws', envName, outputs, clients: defaultClients() };
}
