import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { buildSync } from 'esbuild';

/** An interface endpoint service and the IAM service prefix of the calls it carries. */
export interface InterfaceNeed {
  readonly endpoint: ec2.InterfaceVpcEndpointAwsService;
  readonly iamPrefix: string;
}

const needs = (endpoint: ec2.InterfaceVpcEndpointAwsService, iamPrefix: string): InterfaceNeed => ({
  endpoint,
  iamPrefix,
});
const E = ec2.InterfaceVpcEndpointAwsService;

/**
 * What an AWS SDK v3 package a handler imports needs from a VPC without an internet route:
 * - an interface endpoint (with the IAM prefix of the calls it carries),
 * - `gateway`: S3 and DynamoDB, served by the VPC's gateway endpoints,
 * - `none`: the package makes no service call of its own (types, marshalling, credential chains: in Lambda the
 *   credentials come from the environment, so no STS or SSO call is made).
 * A package missing here fails synth (see {@link endpointNeedsOf}): a new client must be classified before it runs in
 * the VPC, or its calls would time out there.
 */
export const SDK_PACKAGE_ENDPOINTS: Readonly<Record<string, InterfaceNeed | 'gateway' | 'none'>> = {
  '@aws-sdk/client-s3': 'gateway',
  '@aws-sdk/lib-storage': 'gateway',
  '@aws-sdk/client-dynamodb': 'gateway',
  '@aws-sdk/lib-dynamodb': 'gateway',
  '@aws-sdk/util-dynamodb': 'none',
  '@aws-sdk/client-secrets-manager': needs(E.SECRETS_MANAGER, 'secretsmanager'),
  '@aws-sdk/client-sfn': needs(E.STEP_FUNCTIONS, 'states'),
  '@aws-sdk/client-sns': needs(E.SNS, 'sns'),
  '@aws-sdk/client-sqs': needs(E.SQS, 'sqs'),
  '@aws-sdk/client-sagemaker': needs(E.SAGEMAKER_API, 'sagemaker'),
  '@aws-sdk/client-kms': needs(E.KMS, 'kms'),
  '@aws-sdk/client-sts': needs(E.STS, 'sts'),
  '@aws-sdk/client-ssm': needs(E.SSM, 'ssm'),
  '@aws-sdk/client-cloudwatch': needs(E.CLOUDWATCH_MONITORING, 'cloudwatch'),
  '@aws-sdk/client-cloudwatch-logs': needs(E.CLOUDWATCH_LOGS, 'logs'),
  '@aws-sdk/client-cloudformation': needs(E.CLOUDFORMATION, 'cloudformation'),
  '@aws-sdk/credential-provider-node': 'none',
  '@aws-sdk/types': 'none',
};

/** The AWS SDK packages a handler's bundle reaches (`@aws-sdk/<name>`, without subpaths), sorted. */
export function sdkPackagesOf(entry: string): string[] {
  // The same resolution as the function's own bundle (ProjectFunction keeps `@aws-sdk/*` external): every external
  // import esbuild records is an SDK package the code can call at run time, wherever in node_modules it is imported.
  const result = buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['@aws-sdk/*'],
    absWorkingDir: path.dirname(entry),
  });
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imported of input.imports) {
      const match = /^(@aws-sdk\/[^/]+)/.exec(imported.path);
      if (imported.external && match) packages.add(match[1]!);
    }
  }
  return [...packages].sort();
}

/** Code that runs in the VPC: its handler module and the IAM service prefixes its role may call directly. */
export interface VpcWorkload {
  /** Handler module (absolute path). */
  readonly entry: string;
  /** IAM prefixes (e.g. `secretsmanager`) of the actions its role grants for direct calls. */
  readonly grantedServices: ReadonlySet<string>;
}

/** What the workloads in the VPC need, derived from their code. */
export interface EndpointNeeds {
  /** Interface endpoint services, by `shortName` (e.g. `secretsmanager`). */
  readonly interfaces: ReadonlyMap<string, ec2.InterfaceVpcEndpointAwsService>;
  /** The SDK packages seen, for messages and tests. */
  readonly packages: readonly string[];
}

/**
 * The interface endpoints the workloads need when they run in the VPC: a service counts when the handler's bundle
 * reaches its SDK client AND the role grants one of its actions. Imports alone over-count (a shared client module
 * brings every client into every bundle); grants alone would count KMS use that happens inside S3 or Secrets Manager.
 *
 * @throws Error naming the handler and the package when a handler imports an SDK package this module does not classify
 */
export function endpointNeedsOf(workloads: readonly VpcWorkload[]): EndpointNeeds {
  const interfaces = new Map<string, ec2.InterfaceVpcEndpointAwsService>();
  const seen = new Set<string>();
  for (const { entry, grantedServices } of workloads) {
    for (const pkg of sdkPackagesOf(entry)) {
      seen.add(pkg);
      const need = SDK_PACKAGE_ENDPOINTS[pkg];
      if (need === undefined) {
        throw new Error(
          `${entry} runs in the VPC and imports ${pkg}, which lib/constructs/sdk-services.ts does not classify: add it ` +
            'to SDK_PACKAGE_ENDPOINTS (its interface endpoint, "gateway" or "none") so the VPC gets the endpoint it needs',
        );
      }
      if (need !== 'gateway' && need !== 'none' && grantedServices.has(need.iamPrefix)) {
        interfaces.set(need.endpoint.shortName, need.endpoint);
      }
    }
  }
  return { interfaces, packages: [...seen].sort() };
}

/**
 * IAM prefixes of the actions `role` is granted for direct calls, read from the role's rendered policies in its stack.
 * A statement limited by `kms:ViaService` is a key use inside another service (S3, Secrets Manager), not a call of
 * the code, and does not count.
 */
export function directlyGrantedServices(role: iam.IRole): Set<string> {
  const stack = Stack.of(role);
  const roleRef = stack.resolve((role.node.defaultChild as iam.CfnRole | undefined)?.ref);
  const documents: unknown[] = [];
  for (const c of stack.node.findAll()) {
    if (c instanceof iam.CfnRole && c === role.node.defaultChild) {
      // L1 properties resolve with their TypeScript (camelCase) keys; the documents inside are plain IAM JSON.
      const policies = stack.resolve(c.policies) as { policyDocument?: unknown }[] | undefined;
      for (const p of policies ?? []) documents.push(p.policyDocument);
    }
    if (c instanceof iam.CfnPolicy) {
      const roles = JSON.stringify(stack.resolve(c.roles) ?? []);
      if (roleRef !== undefined && roles.includes(JSON.stringify(roleRef)))
        documents.push(stack.resolve(c.policyDocument));
    }
  }
  const services = new Set<string>();
  for (const doc of documents) {
    for (const st of (doc as { Statement?: Record<string, unknown>[] })?.Statement ?? []) {
      if (st.Effect !== 'Allow') continue;
      if (JSON.stringify(st.Condition ?? {}).includes('kms:ViaService')) continue;
      const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
      for (const a of actions) if (typeof a === 'string' && a.includes(':')) services.add(a.split(':')[0]!);
    }
  }
  return services;
}
