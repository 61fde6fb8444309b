import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../contracts/errors';

/**
 * Where the CLI acts: a deployed environment on AWS or the local runtime (moto_server at AWS_ENDPOINT_URL,
 * redis-server at REDIS_URL). Either way the resources are the stacks' outputs, found with DescribeStacks: on AWS
 * those of the deployed stacks, locally those the local runtime published when it provisioned moto
 * (local/runtime/published-outputs.ts); cli/local-target.ts falls back to synthesizing the app.
 *
 * Nothing here loads an SDK client until a command uses it: a command pays only for the clients it needs, and
 * `--help` for none.
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
  const where = target.mode === 'aws' ? `the deployed stacks of environment "${target.envName}"` : 'the local runtime';
  const fix =
    target.mode === 'aws' ? 'deploy the stacks first (npx cdk deploy --all)' : 'start it with npm run local -- --keep';
  throw new NotFoundError(`Stack output ${key} not found in ${where}; ${fix}`);
}

const endpoint = () => process.env.AWS_ENDPOINT_URL || undefined;
const base = () => (endpoint() ? { endpoint: endpoint() } : {});

/**
 * SDK clients of the default credential chain, each created (and its package loaded) on first use. The same settings
 * as lambdas/platform/clients.ts, whose module loads every client package at once.
 */
export function defaultClients(): Target['clients'] {
  let s3: S3Client | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  let sm: SageMakerClient | undefined;
  let sfn: SFNClient | undefined;
  return {
    get s3() {
      const { S3Client: C } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
      s3 ??= new C({ ...base(), forcePathStyle: Boolean(endpoint()) });
      return s3;
    },
    get doc() {
      const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
      const { DynamoDBDocumentClient: D } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
      doc ??= D.from(new DynamoDBClient(base()), { marshallOptions: { removeUndefinedValues: true } });
      return doc;
    },
    get sm() {
      const { SageMakerClient: C } = require('@aws-sdk/client-sagemaker') as typeof import('@aws-sdk/client-sagemaker');
      sm ??= new C(base());
      return sm;
    },
    get sfn() {
      const { SFNClient: C } = require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn');
      sfn ??= new C(base());
      return sfn;
    },
  };
}

/** Stack name prefix of an environment, as `bin/app.ts` names the stacks: `<namePrefix>-<env>-`. */
export const stackPrefix = (namePrefix: string, envName: string) => `${namePrefix}-${envName}-`;

/**
 * Outputs of every stack named `<namePrefix>-<env>-*` (DescribeStacks, default credential chain), and how many such
 * stacks there are.
 */
export async function stackOutputs(
  namePrefix: string,
  envName: string,
  cfn?: CloudFormationClient,
): Promise<{ readonly stacks: number; readonly outputs: Record<string, string> }> {
  const sdk = require('@aws-sdk/client-cloudformation') as typeof import('@aws-sdk/client-cloudformation');
  const client = cfn ?? new sdk.CloudFormationClient(base());
  const prefix = stackPrefix(namePrefix, envName);
  const outputs: Record<string, string> = {};
  let stacks = 0;
  try {
    for await (const page of sdk.paginateDescribeStacks({ client }, {})) {
      for (const stack of page.Stacks ?? []) {
        if (!stack.StackName?.startsWith(prefix) || stack.StackStatus === 'DELETE_COMPLETE') continue;
        stacks++;
        for (const o of stack.Outputs ?? []) if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
      }
    }
  } finally {
    if (!cfn) client.destroy();
  }
  return { stacks, outputs };
}

/** Outputs of every stack of the environment on AWS. */
export async function resolveAwsTarget(namePrefix: string, envName: string): Promise<Target> {
  const { stacks, outputs } = await stackOutputs(namePrefix, envName);
  if (stacks === 0) {
    throw new NotFoundError(
      `No stacks named ${stackPrefix(namePrefix, envName)}* in this account/region; deploy with: npx cdk deploy --all -c env=${envName}`,
    );
  }
  return { mode: 'aws', envName, outputs, clients: defaultClients() };
}
