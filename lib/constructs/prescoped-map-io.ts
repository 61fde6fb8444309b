import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { acknowledge, iam5ResourceId } from '../nag';

/**
 * What a Distributed Map needs beyond CDK's defaults, shared by the batch and the training workflows.
 *
 * The reader and writer add no IAM statements of their own: given a bucket path, CDK would grant their S3 actions on
 * `*`; the workflows grant the exact keys and prefixes themselves (grantDistributedMaps in batch-map-access.ts,
 * grantTrainingPrepareMaps in training-prepare.ts).
 */
export class PrescopedJsonItemReader extends sfn.S3JsonItemReader {
  override providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}

/** See {@link PrescopedJsonItemReader}. */
export class PrescopedResultWriter extends sfn.ResultWriterV2 {
  override providePolicyStatements(): iam.PolicyStatement[] {
    return [];
  }
}

/**
 * Acknowledge (cdk-nag IAM5) the child-execution resources CDK grants a state machine with a Distributed Map in its
 * `DistributedMapPolicy`: Step Functions names the child executions at run time, and the grant is limited to this
 * state machine.
 */
export function acknowledgeChildExecutions(stateMachine: sfn.StateMachine): void {
  const policy = stateMachine.node.tryFindChild('DistributedMapPolicy') as iam.Policy | undefined;
  if (!policy) return;
  policy.node.addValidation({
    validate: () => {
      const doc = Stack.of(policy).resolve(policy.document.toJSON()) as { Statement?: { Resource?: unknown }[] };
      const resources = (doc.Statement ?? []).flatMap((st) =>
        Array.isArray(st.Resource) ? st.Resource : [st.Resource],
      );
      acknowledge(
        policy,
        ...resources
          .filter((r) => JSON.stringify(r).includes(':execution:'))
          .map((r) => ({
            id: iam5ResourceId(policy, r as string),
            reason:
              'Distributed Map child executions of this state machine (execution:<machine>/<map label>:<id>) are ' +
              'named by Step Functions at run time; the grant is limited to this state machine.',
          })),
      );
      return [];
    },
  });
}
