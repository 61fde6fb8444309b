/**
 * Local delivery of the registry's "SageMaker Model Package State Change" event.
 *
 * On AWS, changing a package's approval status (console, CLI `approve`/`reject`) emits that event and EventBridge
 * invokes the approval handler. Locally there is no EventBridge: after the CLI (or `npm run local`) has updated the
 * package in moto, this builds the same event from the package and runs the real approval handler in-process, with
 * the function's environment from the synthesized template.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { PackageInfo } from '../../lambdas/domain/registry';
import { localResources } from './executions';
import { invokeFunction, type RunnableFunction } from './lambda-invoke';
import { LOCAL_ACCOUNT } from './names';

export const APPROVAL_HANDLER_ENTRY = 'lambdas/functions/approval-event/handler.ts';

/** What the delivery needs of the CLI's target (structurally a subset of `cli/target.ts` Target). */
export interface ApprovalTarget {
  readonly envName: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** The event EventBridge would deliver for `pkg`'s current state. */
export function modelPackageStateChangeEvent(
  pkg: PackageInfo,
  opts: { region?: string; account?: string; now?: Date; by?: string } = {},
): Record<string, unknown> {
  if (!pkg.status) throw new Error(`Model package ${pkg.arn} has no approval status`);
  const now = opts.now ?? new Date();
  const by = opts.by ?? pkg.lastModifiedBy ?? `local:${userInfo().username}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'SageMaker Model Package State Change',
    source: 'aws.sagemaker',
    account: opts.account ?? LOCAL_ACCOUNT,
    time: now.toISOString(),
    region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
    resources: [pkg.arn],
    detail: {
      ModelPackageGroupName: pkg.groupName,
      ModelPackageArn: pkg.arn,
      ModelPackageVersion: pkg.version,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: pkg.status,
      ...(pkg.approvalDescription ? { ApprovalDescription: pkg.approvalDescription } : {}),
      LastModifiedTime: now.toISOString(),
      LastModifiedBy: by.startsWith('arn:') ? { IamIdentity: { Arn: by } } : { UserProfileName: by },
      CustomerMetadataProperties: { ...pkg.metadata },
    },
  };
}

/**
 * Run the approval handler for `pkg` as EventBridge would. Uses the approval function of the synthesized app (its
 * environment resolved to local names); when the app has none yet, the handler module with TABLE_NAME and
 * MODEL_PACKAGE_GROUP_NAME from the target's outputs.
 *
 * @returns the handler's result (ApprovalOutcome)
 */
export async function deliverApprovalEvent(
  target: ApprovalTarget,
  pkg: PackageInfo,
  options: {
    /** On top of the function's environment, e.g. `POWERTOOLS_LOG_LEVEL: 'SILENT'` for the CLI. */
    readonly env?: Readonly<Record<string, string>>;
  } = {},
): Promise<unknown> {
  const resources = localResources(target.envName);
  const fn: RunnableFunction = Object.values(resources.functions).find((f) => f.entry === APPROVAL_HANDLER_ENTRY) ?? {
    entry: APPROVAL_HANDLER_ENTRY,
    environment: {
      ...(target.outputs.TableName ? { TABLE_NAME: target.outputs.TableName } : {}),
      ...(target.outputs.ModelPackageGroupName
        ? { MODEL_PACKAGE_GROUP_NAME: target.outputs.ModelPackageGroupName }
        : {}),
      POWERTOOLS_SERVICE_NAME: 'approval-event',
    },
  };
  const env: Record<string, string> = {};
  for (const k of ['AWS_ENDPOINT_URL', 'REDIS_URL', 'AWS_REGION']) {
    const v = process.env[k];
    if (v) env[k] = v;
  }
  Object.assign(env, options.env);
  return invokeFunction(
    fn,
    // moto records a fixed fake user as LastModifiedBy; locally the person is whoever runs the CLI.
    modelPackageStateChangeEvent(pkg, {
      region: resources.region,
      account: resources.account,
      by: `local:${userInfo().username}`,
    }),
    {
      env,
      region: resources.region,
      account: resources.account,
    },
  );
}
