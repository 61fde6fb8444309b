import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { BATCH_PREFIX, keysUnder, LOAD_RESULTS_PREFIX, PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import { acknowledgeChildExecutions } from './prescoped-map-io';
import { acknowledgeWildcards } from './wildcards';

/** What {@link grantDistributedMaps} needs. */
export interface BatchMapAccessProps {
  /** Artifacts bucket (items under `batch/`, results under `batch/load-results/` and `batch/prepare-results/`). */
  readonly artifactsBucket: s3.IBucket;
  /** The data key (SSE-KMS of the items and results). */
  readonly encryptionKey: kms.IKey;
}

/**
 * What the BatchInference Distributed Maps themselves do as the state machine's role: read their items (ItemReader:
 * `load-items.json` and `prepare-tasks.json`, under `batch/`), write their results (ResultWriter, under
 * `batch/load-results/` and `batch/prepare-results/`), both SSE-KMS with the data key; and start/describe/stop
 * their child executions (the policy CDK adds, acknowledged here).
 */
export function grantDistributedMaps(
  scope: Construct,
  stateMachine: sfn.StateMachine,
  props: BatchMapAccessProps,
): void {
  const items = props.artifactsBucket.arnForObjects(keysUnder(BATCH_PREFIX));
  const results = [LOAD_RESULTS_PREFIX, PREPARE_RESULTS_PREFIX].map((p) =>
    props.artifactsBucket.arnForObjects(keysUnder(p)),
  );
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [items] }));
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resources: results,
    }),
  );
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [props.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(scope).region}.amazonaws.com` } },
    }),
  );
  acknowledgeWildcards(
    stateMachine.role,
    'The LoadScores and PrepareTasks Distributed Maps read their items (batch/<runId>/load-items.json, ' +
      'batch/<runId>/prepare-tasks.json) and write their results under batch/load-results/<map run id>/ and ' +
      'batch/prepare-results/<map run id>/: run ids and map run ids are known only at run time.',
    items,
    ...results,
  );
  acknowledgeChildExecutions(stateMachine);
}
