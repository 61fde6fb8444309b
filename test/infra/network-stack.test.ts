import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lib/config';
import { REPO_ROOT } from '../../lib/constructs/project-function';
import { DataStack } from '../../lib/stacks/data-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { testContext } from './context';

process.env.CDK_VALIDATION = 'false';

const app = new App({ context: testContext() });
const config = loadConfig(app.node);
const data = new DataStack(app, 'Data', { config });
const stack = new NetworkStack(app, 'Network', { config, encryptionKey: data.key });
// A cache client as the serving stack places it: its handler reaches Secrets Manager and its role may read the token.
const readScores = path.join(REPO_ROOT, 'lambdas/functions/read-scores/handler.ts');
const added = stack.addInterfaceEndpointsFor([
  { entry: readScores, grantedServices: new Set(['secretsmanager', 'kms', 'logs', 'xray', 'ec2']) },
]);
// The same service again is not added twice.
stack.addInterfaceEndpointsFor([{ entry: readScores, grantedServices: new Set(['secretsmanager']) }]);
const template = Template.fromStack(stack);
const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const functionsSgId = id(stack.functionsSecurityGroup);
const endpointSgId = id(stack.endpointSecurityGroup);

describe('NetworkStack', () => {
  test('VPC has two isolated subnets and no route to the internet', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::EgressOnlyInternetGateway', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
    expect(stack.vpc.isolatedSubnets).toHaveLength(2);
    expect(stack.vpc.publicSubnets).toHaveLength(0);
    expect(stack.vpc.privateSubnets).toHaveLength(0);
  });

  test('default security group is stripped of rules', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test.each(['s3', 'dynamodb'])('%s gateway endpoint on both isolated route tables', (service) => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      RouteTableIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('isolatedSubnet1RouteTable') }]),
    });
  });

  test.each(['secretsmanager'])(
    'interface endpoint %s: private DNS, isolated subnets, endpoint security group',
    (service) => {
      template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
        VpcEndpointType: 'Interface',
        ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
        PrivateDnsEnabled: true,
        SecurityGroupIds: [{ 'Fn::GetAtt': [endpointSgId, 'GroupId'] }],
        SubnetIds: [
          { Ref: Match.stringLikeRegexp('isolatedSubnet1') },
          { Ref: Match.stringLikeRegexp('isolatedSubnet2') },
        ],
      });
    },
  );

  test('exactly the interface endpoints the in-VPC code calls exist (once each)', () => {
    const interfaces = template.findResources('AWS::EC2::VPCEndpoint', {
      Properties: { VpcEndpointType: 'Interface' },
    });
    expect(added).toEqual(['secretsmanager']);
    expect(Object.keys(interfaces)).toHaveLength(1);
    expect([...stack.interfaceEndpoints.keys()]).toEqual(['secretsmanager']);
  });

  test('endpoint security group admits HTTPS from the functions group only, and has no egress', () => {
    const ingress = template.findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { GroupId: { 'Fn::GetAtt': [endpointSgId, 'GroupId'] } },
    });
    expect(Object.values(ingress).map((r) => r.Properties)).toEqual([
      {
        Description: 'HTTPS from in-VPC functions',
        FromPort: 443,
        ToPort: 443,
        IpProtocol: 'tcp',
        GroupId: { 'Fn::GetAtt': [endpointSgId, 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [functionsSgId, 'GroupId'] },
      },
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Interface VPC endpoints'),
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
  });

  test('functions security group: HTTPS egress only, no ingress', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^In-VPC functions'),
      SecurityGroupIngress: Match.absent(),
      SecurityGroupEgress: [
        { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
      ],
    });
  });

  test('flow logs capture all traffic into a KMS-encrypted log group with configured retention', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: id(stack.flowLogGroup) },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: config.logRetentionDays, KmsKeyId: Match.anyValue() },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
    // The flow-log role may only write to its own group.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [id(stack.flowLogGroup), 'Arn'] },
          }),
        ],
      },
    });
    expect(JSON.stringify(template.toJSON().Resources[id(stack.flowLogGroup)])).toContain(
      data.getLogicalId(data.key.node.defaultChild as never),
    );
  });

  test('outputs: VPC, subnets, functions security group, flow-log group', () => {
    template.hasOutput('VpcId', { Value: { Ref: id(stack.vpc) } });
    template.hasOutput('FunctionsSecurityGroupId', { Value: { 'Fn::GetAtt': [functionsSgId, 'GroupId'] } });
    template.hasOutput('IsolatedSubnetIds', Match.anyValue());
    template.hasOutput('FlowLogGroupName', Match.anyValue());
  });
});
