import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { AppConfig } from '../config';
import { endpointNeedsOf, type VpcWorkload } from '../constructs/sdk-services';

/** Properties of {@link NetworkStack}. */
export interface NetworkStackProps extends StackProps {
  /** Validated settings of the chosen environment (uses `logRetentionDays`). */
  readonly config: AppConfig;
  /** Key encrypting the flow-log group (the data stack's key; its policy admits CloudWatch Logs). */
  readonly encryptionKey: kms.IKey;
}

/**
 * Network of the pipeline: a two-AZ VPC with isolated subnets only (no internet or NAT
 * gateway), S3 and DynamoDB gateway endpoints, and flow logs to a KMS-encrypted log group. Interface endpoints (about
 * $7 a month per AZ each) are added by {@link addInterfaceEndpointsFor} for exactly the services the in-VPC code calls.
 *
 * Security-group conventions:
 * - every in-VPC function gets {@link functionsSecurityGroup} (egress HTTPS only; the VPC has no internet route, so it
 *   can only reach the endpoints) plus, where it needs a data-plane store, a per-function group created by its stack
 *   (e.g. the serving stack's loader/reader groups, the only ones the cache admits);
 * - the interface endpoints sit in {@link endpointSecurityGroup}, which admits HTTPS from `functionsSecurityGroup` only.
 */
export class NetworkStack extends Stack {
  /** The VPC (isolated subnets in two AZs). */
  public readonly vpc: ec2.Vpc;
  /** Attach to every in-VPC function: HTTPS egress to the endpoints. */
  public readonly functionsSecurityGroup: ec2.SecurityGroup;
  /** Security group of the interface endpoints: HTTPS in from `functionsSecurityGroup` only. */
  public readonly endpointSecurityGroup: ec2.SecurityGroup;
  /** Interface endpoints by service short name (e.g. `secretsmanager`), as {@link addInterfaceEndpointsFor} added them. */
  public readonly interfaceEndpoints = new Map<string, ec2.InterfaceVpcEndpoint>();
  /** Flow-log group. */
  public readonly flowLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: true,
    });

    this.flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: props.config.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [isolated] });
    this.vpc.addGatewayEndpoint('DynamoDbEndpoint', {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [isolated],
    });

    this.functionsSecurityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: this.vpc,
      description: 'In-VPC functions: HTTPS egress to VPC endpoints only (no internet route)',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface VPC endpoints: HTTPS from the functions security group only',
      allowAllOutbound: false,
    });
    this.endpointSecurityGroup.addIngressRule(
      this.functionsSecurityGroup,
      ec2.Port.tcp(443),
      'HTTPS from in-VPC functions',
    );
    // Gateway endpoints (S3, DynamoDB) are reached at the services' public addresses through the route table, so the
    // egress rule cannot name a security group; with no internet or NAT gateway nothing else is reachable.
    this.functionsSecurityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to VPC endpoints (interface + S3/DynamoDB gateway); the VPC has no internet route',
    );

    new CfnOutput(this, 'VpcId', { value: this.vpc.vpcId, description: 'VPC (isolated subnets only)' });
    new CfnOutput(this, 'IsolatedSubnetIds', {
      value: this.vpc.isolatedSubnets.map((s) => s.subnetId).join(','),
      description: 'Isolated subnets (comma-separated)',
    });
    new CfnOutput(this, 'FunctionsSecurityGroupId', {
      value: this.functionsSecurityGroup.securityGroupId,
      description: 'Security group for in-VPC functions',
    });
    new CfnOutput(this, 'FlowLogGroupName', { value: this.flowLogGroup.logGroupName, description: 'VPC flow logs' });
  }

  /**
   * Interface endpoints for every service the workloads call (derived from their code and grants, see
   * {@link endpointNeedsOf}); a service already served is not added twice. Returns the short names added.
   *
   * @param workloads the functions placed in this VPC
   */
  public addInterfaceEndpointsFor(workloads: readonly VpcWorkload[]): string[] {
    const added: string[] = [];
    const { interfaces } = endpointNeedsOf(workloads);
    for (const [name, service] of [...interfaces].sort(([a], [b]) => a.localeCompare(b))) {
      if (this.interfaceEndpoints.has(name)) continue;
      const id = `${name.replace(/(^|[.-])([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}Endpoint`;
      this.interfaceEndpoints.set(
        name,
        this.vpc.addInterfaceEndpoint(id, {
          service,
          subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
          privateDnsEnabled: true,
          securityGroups: [this.endpointSecurityGroup],
          open: false,
        }),
      );
      added.push(name);
    }
    return added;
  }
}
