import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { mapRunsPrefix } from '../../contracts/s3-layout';
import { acknowledge, iam5ResourceId } from '../nag';
import type { ProjectFunction } from './project-function';

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

/**
 * See {@link PrescopedJsonItemReader}. Its prefix is the execution's folder under `resultsPrefix`
 * (`<resultsPrefix><execution name>/`, contracts/s3-layout.ts mapRunsPrefix; run id = execution name), evaluated at
 * run time (`Prefix.$` with `States.Format`), so RecordFailure finds a failed map run's FAILED files by listing one
 * folder of the run.
 */
export class PrescopedResultWriter extends sfn.ResultWriterV2 {
  constructor(props: { readonly bucketNamePath: string; readonly resultsPrefix: string }) {
    super({
      bucketNamePath: props.bucketNamePath,
      prefix: sfn.JsonPath.format(mapRunsPrefix(props.resultsPrefix, '{}'), sfn.JsonPath.executionName),
    });
  }

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

/**
 * What RecordFailure needs to report a failed Distributed Map's first failed item (lambdas/data/map-run-failure.ts):
 * list each ResultWriter prefix (`s3:prefix` limited to it) and read the manifest and FAILED files under it, SSE-KMS
 * with the data key.
 */
export function grantMapFailureRead(
  recordFailure: ProjectFunction,
  props: { readonly bucket: s3.IBucket; readonly key: kms.IKey; readonly resultsPrefixes: readonly string[] },
): void {
  for (const prefix of props.resultsPrefixes) {
    recordFailure.grantListPrefix(props.bucket, prefix);
    recordFailure.grantObjects(props.bucket, prefix, 'read', {
      key: props.key,
      reason: `Reads a failed Distributed Map's ResultWriter files under ${prefix}<runId>/<map run id>/: run and map run ids are known only at run time.`,
    });
  }
}
