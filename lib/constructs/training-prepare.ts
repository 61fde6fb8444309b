import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { keysUnder, TRAINING_PREFIX, TRAINING_PREPARE_RESULTS_PREFIX } from '../../contracts/s3-layout';
import { TrainingState } from '../../contracts/states/names';
import { TrainingPlanSchema } from '../../contracts/states/training';
import type { AppConfig } from '../config';
import { jsonPathsOf } from './json-path';
import { acknowledgeChildExecutions, PrescopedJsonItemReader, PrescopedResultWriter } from './prescoped-map-io';
import type { ProjectFunction } from './project-function';
import { acknowledgeWildcards } from './wildcards';

/** The functions of the fanned-out PrepareTrainingData step. */
export interface TrainingPrepareFunctions {
  readonly plan: ProjectFunction;
  readonly profile: ProjectFunction;
  readonly buildSpec: ProjectFunction;
  readonly encode: ProjectFunction;
  /** The last step (state PrepareTrainingData): sums the encode partials. */
  readonly prepare: ProjectFunction;
}

/** Properties of {@link trainingPrepareChain}. */
export interface TrainingPrepareProps {
  /** Validated settings (uses `training.prepareConcurrency`). */
  readonly config: AppConfig;
  readonly functions: TrainingPrepareFunctions;
  /** JSONPath of the run id in the state. */
  readonly runIdPath: string;
  /** JSONPath of the data window StartRun resolved. */
  readonly dataWindowPath: string;
  /** Where the step's result goes (`$.data`); the plan and spec summary live there until the last step replaces it. */
  readonly resultPath: string;
  /** A Lambda state caught into the failure path and retried on DependencyError (the workflow's `step`). */
  readonly step: (
    name: string,
    fn: ProjectFunction,
    payload: Record<string, unknown>,
    resultPath?: string,
  ) => sfn.TaskStateBase;
  /** A Lambda state without a catch (the item processors: a failed item fails its Map, which is caught). */
  readonly item: (name: string, fn: ProjectFunction) => tasks.LambdaInvoke;
  /** Route every error of a state into the failure path. */
  readonly catchInto: <T extends sfn.DistributedMap>(state: T) => T;
}

/**
 * `PlanTrainingData → ProfileTrainingData (Distributed Map of ProfileTask) → BuildPreprocessingSpec →
 * EncodeTrainingData (Distributed Map of EncodeTask) → PrepareTrainingData`. The Maps read their items from the
 * tasks file PlanTrainingData wrote (ItemReader) and write their run results to S3 (ResultWriter), so the state
 * carries counts only, whatever the number of objects; the partials are in S3 under the run's `prepare/` folder.
 */
export function trainingPrepareChain(scope: Construct, p: TrainingPrepareProps): sfn.Chain {
  const S = TrainingState;
  const f = p.functions;
  const plan = jsonPathsOf(TrainingPlanSchema.shape, p.resultPath);
  const planState = p.step(
    S.PlanTrainingData,
    f.plan,
    { 'runId.$': p.runIdPath, 'dataWindow.$': p.dataWindowPath },
    p.resultPath,
  );
  // The reader and writer add no statements (given a path, CDK would grant their S3 actions on `*`):
  // grantTrainingPrepareMaps grants the exact prefixes. ResultWriterV2 accepts a bucket path; its feature flag is set
  // on a scope of its own so it changes nothing else of the app.
  const mapScope = new Construct(scope, 'TrainingPrepareMaps');
  mapScope.node.setContext(cxapi.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2, true);
  const bucketNamePath = sfn.JsonPath.stringAt(plan('bucket'));
  const map = (name: string, processor: tasks.LambdaInvoke, resultPath: string) => {
    const state = new sfn.DistributedMap(mapScope, name, {
      stateName: name,
      itemReader: new PrescopedJsonItemReader({ bucketNamePath, key: sfn.JsonPath.stringAt(plan('tasksKey')) }),
      resultWriterV2: new PrescopedResultWriter({ bucketNamePath, resultsPrefix: TRAINING_PREPARE_RESULTS_PREFIX }),
      maxConcurrency: p.config.training.prepareConcurrency,
      toleratedFailurePercentage: 0,
      label: name,
      itemSelector: {
        runId: sfn.JsonPath.stringAt(p.runIdPath),
        task: sfn.JsonPath.numberAt('$$.Map.Item.Value.task'),
        keys: sfn.JsonPath.listAt('$$.Map.Item.Value.keys'),
      },
      resultPath,
    });
    state.itemProcessor(processor);
    return p.catchInto(state);
  };
  const profile = map(S.ProfileTrainingData, p.item(S.ProfileTask, f.profile), `${p.resultPath}.profiled`);
  const buildSpec = p.step(
    S.BuildPreprocessingSpec,
    f.buildSpec,
    { 'runId.$': p.runIdPath, 'tasks.$': plan('tasks') },
    `${p.resultPath}.spec`,
  );
  const encode = map(S.EncodeTrainingData, p.item(S.EncodeTask, f.encode), `${p.resultPath}.encoded`);
  const finish = p.step(
    S.PrepareTrainingData,
    f.prepare,
    { 'runId.$': p.runIdPath, 'dataWindow.$': p.dataWindowPath },
    p.resultPath,
  );
  return sfn.Chain.start(planState).next(profile).next(buildSpec).next(encode).next(finish);
}

/**
 * What the two Maps do as the state machine's role: read `training/<runId>/prepare/tasks.json` (ItemReader) and
 * write their run results under `training/prepare-results/` (ResultWriter), SSE-KMS with the data key; and
 * start/describe/stop their child executions (the policy CDK adds, acknowledged here).
 */
export function grantTrainingPrepareMaps(
  stateMachine: sfn.StateMachine,
  props: { readonly artifactsBucket: s3.IBucket; readonly encryptionKey: kms.IKey },
): void {
  const items = props.artifactsBucket.arnForObjects(`${TRAINING_PREFIX}*/prepare/tasks.json`);
  const results = props.artifactsBucket.arnForObjects(keysUnder(TRAINING_PREPARE_RESULTS_PREFIX));
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [items] }));
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      resources: [results],
    }),
  );
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [props.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(stateMachine).region}.amazonaws.com` } },
    }),
  );
  acknowledgeWildcards(
    stateMachine.role,
    'The PrepareTrainingData Distributed Maps read their items (training/<runId>/prepare/tasks.json) and write ' +
      'their results under training/prepare-results/<map run id>/: run ids and map run ids are known only at run time.',
    items,
    results,
  );
  acknowledgeChildExecutions(stateMachine);
}
