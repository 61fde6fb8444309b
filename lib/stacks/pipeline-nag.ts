import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as pipelines from 'aws-cdk-lib/pipelines';
import { acknowledge, iam5ResourceId } from '../nag';

/*
 * cdk-nag acknowledgements for what CDK Pipelines generates in PipelineStack (roles, projects, the cross-region
 * replication bucket), each with the reason it is acceptable. Kept apart from the stack so the stack reads as the
 * pipeline's shape.
 */

/** What acknowledgeGenerated reads of the pipeline stack. */
export interface GeneratedPipeline extends Stack {
  readonly pipeline: pipelines.CodePipeline;
  readonly artifactBucket: s3.IBucket;
  readonly trainOnDev: pipelines.CodeBuildStep;
}

/** Findings on the replication bucket CodePipeline generates in the Prod region's support stack. */
export function acknowledgeCrossRegionSupport(pipeline: pipelines.CodePipeline): void {
  const support = pipeline.pipeline.crossRegionSupport;
  for (const region of Object.keys(support)) {
    const { replicationBucket } = support[region]!;
    acknowledge(replicationBucket, {
      id: 'AwsSolutions-S1',
      reason:
        `CodePipeline's generated replication bucket in ${region} (support stack): it holds only transient, ` +
        'KMS-encrypted pipeline artifacts copied for the Prod deploy actions; CDK offers no access-log option for it.',
    });
    const role = pipeline.pipeline.role;
    acknowledge(
      role,
      {
        id: iam5ResourceId(role, `${replicationBucket.bucketArn}/*`),
        reason:
          "CodePipeline's grant on the objects of its own replication bucket in the Prod region (artifacts of this " +
          'pipeline only).',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          "CodePipeline references the replication bucket's KMS key in the Prod region by alias (its ARN is not " +
          'known in this region at synth), so CDK grants the pipeline role its encrypt/decrypt actions on *; key ' +
          'policies still decide which keys it can use.',
      },
    );
  }
}

/** cdk-nag findings on what CDK Pipelines generates, each with the reason it is acceptable. */
export function acknowledgeGenerated(
  stack: GeneratedPipeline,
  executionArns: string,
  lookupRoles: readonly string[],
): void {
  const bucketObjects = `${stack.artifactBucket.bucketArn}/*`;
  // 1. Every generated role (pipeline, source action, synth, self-mutation, asset publishing, post step) gets
  //    CDK's read or read/write grant on the pipeline's own artifact bucket and its KMS key.
  const artifactGrant =
    "CDK Pipelines grants this role read (or read/write) on the pipeline's own KMS-encrypted artifact bucket via " +
    "bucket.grantRead/grantReadWrite: the wildcards are that grant's action groups and the object keys of this one " +
    'bucket and key, nothing else.';
  const roles = stack.pipeline.node.findAll().filter((c): c is iam.Role => c instanceof iam.Role);
  for (const role of roles) {
    acknowledge(
      role,
      ...[
        'Action::s3:GetObject*',
        'Action::s3:GetBucket*',
        'Action::s3:List*',
        'Action::s3:DeleteObject*',
        'Action::s3:Abort*',
        'Action::kms:GenerateDataKey*',
        'Action::kms:ReEncrypt*',
      ].map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason: artifactGrant })),
      { id: iam5ResourceId(role, bucketObjects), reason: artifactGrant },
    );
  }

  // 2. CodeBuild's default policy of each project: its own log streams and report groups (names start with the
  //    generated project name).
  const projects = [stack.pipeline.synthProject, stack.pipeline.selfMutationProject, stack.trainOnDev.project];
  for (const project of projects) {
    const role = project.role;
    if (!role) continue;
    const logStreams = `${stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/codebuild/${project.projectName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    })}:*`;
    const reportGroups = stack.formatArn({
      service: 'codebuild',
      resource: 'report-group',
      resourceName: `${project.projectName}-*`,
    });
    const reason =
      "CodeBuild's default project policy: log streams of this project's own log group and report groups named " +
      'after this project; the suffix is chosen by CodeBuild at build time.';
    acknowledge(
      role,
      { id: iam5ResourceId(role, logStreams), reason },
      { id: iam5ResourceId(role, reportGroups), reason },
    );
  }

  // 3. Synth: context lookups through the CDK lookup roles.
  const synthRole = stack.pipeline.synthProject.role;
  if (synthRole) {
    acknowledge(
      synthRole,
      ...lookupRoles.map((arn) => ({
        id: iam5ResourceId(synthRole, arn),
        reason:
          '`cdk synth` assumes only roles of the deploy accounts tagged aws-cdk:bootstrap-role = lookup (IAM ' +
          'condition): the read-only CDK bootstrap lookup roles, whose names depend on the bootstrap qualifier.',
      })),
    );
  }

  // 4. Self-mutation (`cdk deploy` of this stack from the pipeline).
  const selfMutationRole = stack.pipeline.selfMutationProject.role;
  if (selfMutationRole) {
    acknowledge(
      selfMutationRole,
      {
        id: iam5ResourceId(selfMutationRole, `arn:*:iam::${stack.account}:role/*`),
        reason:
          'Self-mutation assumes only roles of this account tagged aws-cdk:bootstrap-role = deploy, file-publishing ' +
          'or image-publishing (IAM condition): the CDK bootstrap roles, whose names depend on the qualifier.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Self-mutation runs `cdk deploy`, which reads cloudformation:DescribeStacks and s3:ListBucket before it ' +
          'assumes the bootstrap deploy role; these read-only calls are all CDK Pipelines grants without a resource.',
      },
    );
  }

  // 5. Asset publishing (one shared role for the file-asset projects of every stage).
  const fileRole = stack.pipeline.node.tryFindChild('Assets')?.node.tryFindChild('FileRole');
  if (fileRole) {
    const reason =
      'CDK Pipelines asset publishing role shared by generated publishing projects (names unknown at synth): ' +
      'CodeBuild builds/logs/report groups of this account and region; it uploads only by assuming the CDK ' +
      'file-publishing roles, which are listed by name.';
    acknowledge(
      fileRole,
      { id: 'AwsSolutions-IAM5[Resource::*]', reason },
      {
        id: iam5ResourceId(
          fileRole,
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws/codebuild/*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
        reason,
      },
      {
        id: iam5ResourceId(
          fileRole,
          stack.formatArn({ service: 'codebuild', resource: 'report-group', resourceName: '*' }),
        ),
        reason,
      },
    );
  }

  // 6. The post-deploy step may watch executions of the Training state machine only.
  const trainRole = stack.trainOnDev.project.role;
  if (trainRole) {
    acknowledge(trainRole, {
      id: iam5ResourceId(trainRole, executionArns),
      reason:
        'DescribeExecution on executions of the Dev Training state machine only; the execution name (run id) is ' +
        'chosen when the step runs, so it cannot be listed at synth time.',
    });
  }
}
