import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { loadConfig } from '../../lib/config';
import { DataStack } from '../../lib/stacks/data-stack';
import { API_P99_LATENCY_MS, MonitoringStack } from '../../lib/stacks/monitoring-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { ServingStack } from '../../lib/stacks/serving-stack';
import { cdkJsonContext, testContext } from './context';

process.env.CDK_VALIDATION = 'false';

// prod from cdk.json (one replica → replication-lag alarm), with an alarm email.
const environments = cdkJsonContext().environments as Record<string, Record<string, unknown>>;
const prodEnv = environments.prod as Record<string, unknown>;
const app = new App({
  context: testContext({
    env: 'prod',
    environments: {
      ...environments,
      prod: { ...prodEnv, monitoring: { alarmEmail: 'ops@example.com', scoreFreshnessSloHours: 30 } },
    },
  }),
});
const config = loadConfig(app.node);
const data = new DataStack(app, 'Data', { config });
const network = new NetworkStack(app, 'Network', { config, encryptionKey: data.key });
const serving = new ServingStack(app, 'Serving', {
  config,
  vpc: network.vpc,
  functionsSecurityGroup: network.functionsSecurityGroup,
  encryptionKey: data.key,
  artifactsBucketName: data.artifactsBucketName,
  table: data.table,
});
const workflows = new Stack(app, 'Workflows');
const machine = (id: string) =>
  new sfn.StateMachine(workflows, id, {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(workflows, `${id}Pass`)),
  });
const training = machine('Training');
const batch = machine('Batch');
const stack = new MonitoringStack(app, 'Monitoring', {
  config,
  trainingStateMachine: training,
  batchStateMachine: batch,
  functions: [
    { name: 'Serving-LoadScores', fn: serving.loaderFunction },
    { name: 'Serving-FinalizeScores', fn: serving.finalizeFunction },
    { name: 'Serving-ReadScores', fn: serving.readerFunction },
  ],
  cacheReplicationGroupId: serving.cache.ref,
  api: serving.api,
});
const template = Template.fromStack(stack);
const topicId = stack.getLogicalId(stack.alarmTopic.node.defaultChild as never);
const alarms = template.findResources('AWS::CloudWatch::Alarm');

interface Metric {
  MetricName: string;
  Namespace?: string;
  Dimensions?: unknown;
}
/** The alarm's metric, whether rendered plainly or as a single-metric `Metrics` array (cdk-monitoring-constructs). */
function metricOf(props: Record<string, unknown>): { metric: Metric; stat: unknown; period: unknown } {
  const metrics = props.Metrics as { MetricStat?: { Metric: Metric; Stat: string; Period: number } }[] | undefined;
  const stat = metrics?.find((m) => m.MetricStat)?.MetricStat;
  if (stat) return { metric: stat.Metric, stat: stat.Stat, period: stat.Period };
  return {
    metric: props as unknown as Metric,
    stat: props.ExtendedStatistic ?? props.Statistic,
    period: props.Period,
  };
}

function alarmWith(metricName: string, dimensions?: unknown) {
  return Object.values(alarms)
    .map((a) => ({ props: a.Properties as Record<string, unknown>, ...metricOf(a.Properties) }))
    .filter(
      (a) =>
        a.metric.MetricName === metricName &&
        (dimensions === undefined || JSON.stringify(a.metric.Dimensions) === JSON.stringify(dimensions)),
    );
}

describe('MonitoringStack', () => {
  test('ops topic: KMS (own key admitting CloudWatch), TLS-only, email subscription from config', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowCloudWatchAlarmsOfThisAccount',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('every alarm notifies the ops topic', () => {
    expect(Object.keys(alarms).length).toBeGreaterThan(15);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.ActionsEnabled).toBe(true);
    }
  });

  test('both state machines: failed and timed-out executions > 0, p99 duration over maxRunMinutes', () => {
    expect(alarmWith('ExecutionsFailed')).toHaveLength(2);
    expect(alarmWith('ExecutionsTimedOut')).toHaveLength(2);
    for (const a of alarmWith('ExecutionsFailed')) {
      expect(a.props).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      expect(JSON.stringify(a.metric.Dimensions)).toContain('StateMachineArn');
    }
    const duration = alarmWith('ExecutionTime');
    expect(duration).toHaveLength(2);
    for (const a of duration) {
      expect(a.stat).toBe('p99');
      expect(a.props.Threshold).toBe(config.monitoring.maxRunMinutes * 60_000);
    }
  });

  test('every function: errors > 0 and throttles > 0', () => {
    const errors = alarmWith('Errors');
    const throttles = alarmWith('Throttles');
    expect(errors).toHaveLength(3);
    expect(throttles).toHaveLength(3);
    for (const a of [...errors, ...throttles]) {
      expect(a.props.Threshold).toBe(0);
      expect(JSON.stringify(a.metric.Dimensions)).toContain('FunctionName');
    }
  });

  test('cache: CPU, engine CPU, evictions and memory on every node; replication lag on the replica', () => {
    expect(alarmWith('CPUUtilization')).toHaveLength(2);
    expect(alarmWith('EngineCPUUtilization')).toHaveLength(2);
    expect(alarmWith('Evictions')).toHaveLength(2);
    const memory = alarmWith('DatabaseMemoryUsagePercentage');
    expect(memory).toHaveLength(2);
    expect(memory[0]?.props.Threshold).toBe(80);
    expect(memory[0]?.metric.Namespace).toBe('AWS/ElastiCache');
    const lag = alarmWith('ReplicationLag');
    expect(lag).toHaveLength(1);
    expect(JSON.stringify(lag[0]?.metric.Dimensions)).toContain('-002');
    expect(JSON.stringify(alarmWith('CPUUtilization').map((a) => a.metric.Dimensions))).toMatch(/-001.*-002/);
  });

  test('read API: 5xx > 0 and p99 latency', () => {
    expect(alarmWith('5XXError')).toHaveLength(1);
    const latency = alarmWith('Latency');
    expect(latency).toHaveLength(1);
    expect(latency[0]?.stat).toBe('p99');
    expect(latency[0]?.props.Threshold).toBe(API_P99_LATENCY_MS);
    expect(latency[0]?.metric.Dimensions).toEqual([
      { Name: 'ApiName', Value: 'mlops-batch-prod-scores' },
      { Name: 'Stage', Value: 'v1' },
    ]);
  });

  test('pipeline metrics: freshness over the SLO, drift over the PSI threshold, fallback rate', () => {
    const dims = (service: string) => [{ Name: 'service', Value: service }];
    const [freshness] = alarmWith('ScoreFreshnessHours', dims('freshness'));
    expect(freshness?.metric.Namespace).toBe('MlopsBatchPipeline');
    expect(freshness?.stat).toBe('Maximum');
    expect(freshness?.props).toMatchObject({
      Threshold: 30,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 12 * 3600,
      TreatMissingData: 'breaching',
    });
    const [arrivals] = alarmWith('NewestFeatureObjectAgeHours', dims('freshness'));
    expect(arrivals?.props).toMatchObject({
      Threshold: config.monitoring.maxFeatureObjectAgeHours,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
    });
    const [notProduction] = alarmWith('NotProductionRate', dims('read-scores'));
    expect(notProduction?.props).toMatchObject({
      Threshold: config.monitoring.maxNonProductionServedPercent,
      EvaluationPeriods: config.monitoring.nonProductionAlarmHours,
      DatapointsToAlarm: config.monitoring.nonProductionAlarmHours,
    });
    const [drift] = alarmWith('MaxFeatureDriftPsi', dims('prepare-inference-data'));
    expect(drift?.props.Threshold).toBe(config.monitoring.driftPsiThreshold);
    const [fallback] = alarmWith('FallbackRate', dims('read-scores'));
    expect(fallback?.stat).toBe('Average');
    expect(fallback?.props.Threshold).toBe(config.monitoring.maxFallbackRatePercent);
  });

  test('no successful batch within the freshness SLO alarms (missing data breaches)', () => {
    const [noSuccess] = alarmWith('ExecutionsSucceeded');
    expect(noSuccess?.stat).toBe('Sum');
    expect(noSuccess?.props).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      Period: 3600,
      EvaluationPeriods: 30,
      DatapointsToAlarm: 30,
      TreatMissingData: 'breaching',
    });
  });

  test('one dashboard named after the environment', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'mlops-batch-prod' });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });
});
