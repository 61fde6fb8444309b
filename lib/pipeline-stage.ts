import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  type ApplicationFactory,
  type ApplicationStacks,
  createApplicationStacks,
  type TrainingStateMachineRef,
  trainingStateMachineRef,
} from './application';
import type { AppConfig } from './config';

/** Properties of {@link PipelineStage}. */
export interface PipelineStageProps extends StageProps {
  /** Validated settings of the environment this stage deploys (its `envName` names the stacks). */
  readonly config: AppConfig;
  /**
   * Builds the application stacks into the stage.
   * @default createApplicationStacks - the same factory `bin/app.ts` uses
   */
  readonly createStacks?: ApplicationFactory;
}

/**
 * One deployment of the whole application (every application stack) as a CDK Pipelines stage.
 *
 * The stacks take their account/region from the stage (`props.env`); with no env they deploy to the pipeline's own
 * account and region.
 */
export class PipelineStage extends Stage {
  /** The application stacks of this stage. */
  public readonly stacks: ApplicationStacks;
  /** The Training state machine (output + name) the post-deploy step starts. */
  public readonly trainingStateMachine: TrainingStateMachineRef;

  constructor(scope: Construct, id: string, props: PipelineStageProps) {
    super(scope, id, props);
    const create = props.createStacks ?? createApplicationStacks;
    // No env per stack: each stack inherits the stage's account/region.
    this.stacks = create(this, props.config);
    this.trainingStateMachine = trainingStateMachineRef(this.stacks.training);
  }
}
