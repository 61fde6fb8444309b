import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * One cdk-nag acknowledgement.
 *
 * `id` is the exact finding id as cdk-nag 3 reports it: the rule id (`AwsSolutions-S1`) or, for rules that report
 * one finding per offending value, the rule id with the finding (`AwsSolutions-IAM5[Resource::*]`,
 * `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]`).
 * cdk-nag 3 has no prefix matching, so an acknowledgement never silences more than the one finding it names.
 */
export interface NagAcknowledgement {
  /** Exact finding id, e.g. `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  /** Why the finding is acceptable here: specific to this resource, not a generic excuse. */
  readonly reason: string;
}

const MIN_REASON_LENGTH = 20;

/**
 * Acknowledge cdk-nag findings on one construct (and its children, e.g. a role's default policy).
 *
 * Acknowledge on the narrowest construct that owns the finding. A short or empty reason is a programming error and
 * throws, so no acknowledgement can be added without a written reason.
 */
export function acknowledge(scope: IConstruct, ...acks: readonly NagAcknowledgement[]): void {
  for (const ack of acks) {
    const match = /^([A-Za-z]+)-[A-Za-z0-9]+(\[.+\])?$/.exec(ack.id);
    if (!match) {
      throw new Error(
        `cdk-nag acknowledgement on ${scope.node.path}: "${ack.id}" is not a finding id like AwsSolutions-IAM5[Resource::*]`,
      );
    }
    if (ack.reason.trim().length < MIN_REASON_LENGTH) {
      throw new Error(
        `cdk-nag acknowledgement ${ack.id} on ${scope.node.path}: reason must say why (>= ${MIN_REASON_LENGTH} chars)`,
      );
    }
    // CDK namespaces validation ids by plugin ("AwsSolutions::AwsSolutions-S1"); an id without the namespace would be
    // taken as a construct-annotation id and silence nothing.
    Validations.of(scope).acknowledge({ id: `${match[1]}::${ack.id}`, reason: ack.reason });
  }
}

/** Finding ids that recur across the project, spelled once. */
export const NagIds = {
  /** Wildcard resource in an IAM policy statement. */
  iam5Resource: 'AwsSolutions-IAM5[Resource::*]',
  /** AWS managed Lambda basic execution policy (CDK-internal custom resource providers). */
  iam4LambdaBasic:
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
} as const;

function renderForNag(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(renderForNag).join(join[0]);
    }
  }
  return JSON.stringify(value);
}

/**
 * The `Resource::…` finding id cdk-nag reports for a policy resource (an ARN string that may hold tokens), e.g.
 * `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket-<AWS::AccountId>-<AWS::Region>/results/*]`.
 * Intrinsics render as cdk-nag renders them (`Ref` → `<Name>`, `Fn::GetAtt` → `<Logical.Attr>`, `Fn::Join` joined).
 * Use it for stack-local values; a cross-stack reference renders as an opaque reference instead.
 */
export function iam5ResourceId(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${renderForNag(Stack.of(scope).resolve(resource))}]`;
}
