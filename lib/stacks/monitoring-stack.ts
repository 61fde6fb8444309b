import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  type CustomMetricWithAlarm,
  DefaultDashboardFactory,
  ElastiCacheClusterType,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import type { Construct } from 'constructs';
import { FRESHNESS_SERVICE } from '../../contracts/function-env';
import type { AppConfig } from '../config';
import { METRICS_NAMESPACE } from '../constructs/project-function';

/** A function to watch, with a readable name for alarms and the dashboard. */
export interface MonitoredFunction {
  /** Alarm/dashboard name, e.g. `Serving-LoadScores`. */
  readonly name: string;
  readonly fn: lambda.IFunction;
}

/** Properties of {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  /** Validated settings (uses `monitoring`, `cache`, `namePrefix`, `envName`). */
  readonly config: AppConfig;
  /** Training state machine (failures, time-outs, duration). @default - not monitored */
  readonly trainingStateMachine?: sfn.IStateMachine;
  /** BatchInference state machine (failures, time-outs, duration, no success within the freshness SLO). @default - not monitored */
  readonly batchStateMachine?: sfn.IStateMachine;
  /** Every project function (errors, throttles). */
  readonly functions: readonly MonitoredFunction[];
  /**
   * The score cache replication group id (`Ref` of the replication group); member nodes are `<id>-001`, `<id>-002`…
   * @default - cache not monitored
   */
  readonly cacheReplicationGroupId?: string;
  /** The read API. @default - not monitored */
  readonly api?: apigw.IRestApi;
  /** Stage of the read API. @default 'v1' */
  readonly apiStageName?: string;
}

/** Metric of a Powertools (EMF) custom metric: namespace `MlopsBatchPipeline`, default dimension `service`. */
/** Period of the freshness alarms: longer than the reconcile schedule (default 6 h) so a quiet day is not missing data. */
export const FRESHNESS_PERIOD = Duration.hours(12);

export function customMetric(
  metricName: string,
  service: string,
  statistic: string,
  period: Duration = Duration.hours(1),
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period,
  });
}

/** API p99 latency (ms) over which the read API alarms (the read path is benchmarked at p99 <= 2x a raw GET in bench/b2-read.ts; this is the outer guard). */
export const API_P99_LATENCY_MS = 1000;
/** Cache CPU / engine CPU / memory percent over which the cache alarms. */
export const CACHE_CPU_PERCENT = 90;
export const CACHE_MEMORY_PERCENT = 80;
/** Replica lag (seconds) over which the cache alarms. */
export const CACHE_REPLICATION_LAG_SECONDS = 5;

/**
 * Monitoring: one dashboard and alarms for both state machines (failures, time-outs, p99
 * duration), every function (errors, throttles), the cache (CPU, engine CPU, memory, evictions, replication lag), the
 * read API (5xx, p99 latency) and the pipeline's own metrics (score freshness, feature drift, fallback rate). Every
 * alarm notifies the ops topic (KMS-encrypted; email subscription from config).
 */
export class MonitoringStack extends Stack {
  /** Topic every alarm notifies. */
  public readonly alarmTopic: sns.Topic;
  /** The cdk-monitoring-constructs facade (add more monitoring with `monitoring.monitorX(...)`). */
  public readonly monitoring: MonitoringFacade;
  /** Name of the dashboard. */
  public readonly dashboardName: string;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    const m = config.monitoring;

    // CloudWatch alarms publish to an encrypted topic only when the key policy admits cloudwatch.amazonaws.com, so the
    // topic has its own key (the data key's policy stays untouched).
    const topicKey = new kms.Key(this, 'AlarmTopicKey', {
      description: `${config.namePrefix} ${config.envName}: ops alarm topic`,
      enableKeyRotation: true,
    });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${config.namePrefix} ${config.envName} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (m.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(m.alarmEmail));

    this.dashboardName = `${config.namePrefix}-${config.envName}`;
    this.monitoring = new MonitoringFacade(this, 'Monitoring', {
      alarmFactoryDefaults: {
        actionsEnabled: true,
        alarmNamePrefix: `${config.namePrefix}-${config.envName}`,
        action: new SnsAlarmActionStrategy({ onAlarmTopic: this.alarmTopic }),
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
      },
      dashboardFactory: new DefaultDashboardFactory(this, 'Dashboards', {
        dashboardNamePrefix: this.dashboardName,
        createDashboard: true,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const mon = this.monitoring;

    // --- State machines ----------------------------------------------------------------------------------------
    const maxRun = Duration.minutes(m.maxRunMinutes);
    for (const [name, stateMachine] of [
      ['Training', props.trainingStateMachine],
      ['BatchInference', props.batchStateMachine],
    ] as const) {
      if (!stateMachine) continue;
      mon.monitorStepFunction({
        stateMachine,
        humanReadableName: `${name} state machine`,
        alarmFriendlyName: name,
        addFailedExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addTimedOutExecutionCountAlarm: { Critical: { maxErrorCount: 0 } },
        addAbortedExecutionCountAlarm: { Warning: { maxErrorCount: 0 } },
        addDurationP99Alarm: { Warning: { maxDuration: maxRun } },
      });
    }

    // --- Functions ---------------------------------------------------------------------------------------------
    for (const { name, fn } of props.functions) {
      mon.monitorLambdaFunction({
        lambdaFunction: fn,
        humanReadableName: name,
        alarmFriendlyName: name,
        addFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
        addThrottlesCountAlarm: { Warning: { maxErrorCount: 0 } },
      });
    }

    // --- Cache ---------------------------------------------------------------------------------------------------
    if (props.cacheReplicationGroupId) {
      const perShard = 1 + config.cache.replicasPerShard;
      const { shards } = config.cache;
      const nodes = shards * perShard;
      for (let i = 1; i <= nodes; i++) {
        // Node ids: <group>-<node> with one shard, <group>-<shard>-<node> in cluster mode.
        const node = String(((i - 1) % perShard) + 1).padStart(3, '0');
        const shard = String(Math.floor((i - 1) / perShard) + 1).padStart(4, '0');
        const clusterId = `${props.cacheReplicationGroupId}-${shards > 1 ? `${shard}-${node}` : String(i).padStart(3, '0')}`;
        const nodeName = `Cache-node-${i}`;
        mon.monitorElastiCacheCluster({
          clusterId,
          clusterType: ElastiCacheClusterType.REDIS,
          humanReadableName: `Score cache node ${i}`,
          alarmFriendlyName: nodeName,
          addCpuUsageAlarm: { Warning: { maxUsagePercent: CACHE_CPU_PERCENT } },
          addRedisEngineCpuUsageAlarm: { Warning: { maxUsagePercent: CACHE_CPU_PERCENT } },
          addMaxEvictedItemsCountAlarm: { Warning: { maxItemsCount: 0 } },
        });
        const cacheMetric = (metricName: string, statistic: string) =>
          new cloudwatch.Metric({
            namespace: 'AWS/ElastiCache',
            metricName,
            dimensionsMap: { CacheClusterId: clusterId },
            statistic,
            period: Duration.minutes(5),
          });
        const metrics: CustomMetricWithAlarm[] = [
          {
            metric: cacheMetric('DatabaseMemoryUsagePercentage', 'Maximum'),
            alarmFriendlyName: `${nodeName}-memory`,
            addAlarm: {
              Warning: {
                threshold: CACHE_MEMORY_PERCENT,
                comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                additionalDescription: 'Cache memory is filling up: scale the node type or lower scoreTtlDays.',
              },
            },
          },
          // Primary (node 1) has no replication lag; replicas do.
          ...(i > 1
            ? [
                {
                  metric: cacheMetric('ReplicationLag', 'Maximum'),
                  alarmFriendlyName: `${nodeName}-replication-lag`,
                  addAlarm: {
                    Warning: {
                      threshold: CACHE_REPLICATION_LAG_SECONDS,
                      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                      additionalDescription: 'Replica lags the primary; reads after a failover may be stale.',
                    },
                  },
                },
              ]
            : []),
        ];
        mon.monitorCustom({
          alarmFriendlyName: `${nodeName}-custom`,
          humanReadableName: `Score cache node ${i}: memory and replication`,
          metricGroups: [{ title: 'Memory / replication', metrics }],
        });
      }
    }

    // --- Read API ------------------------------------------------------------------------------------------------
    if (props.api) {
      mon.monitorApiGateway({
        api: props.api,
        apiStage: props.apiStageName ?? 'v1',
        humanReadableName: 'Score read API',
        alarmFriendlyName: 'ReadApi',
        add5XXFaultCountAlarm: { Critical: { maxErrorCount: 0 } },
        addLatencyP99Alarm: { Warning: { maxLatency: Duration.millis(API_P99_LATENCY_MS) } },
      });
    }

    // --- Pipeline metrics (Powertools EMF) ------------------------------------------------------------------------
    const gt = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const pipelineMetrics: CustomMetricWithAlarm[] = [
      // Freshness comes from every batch run and every reconcile (lambdas/platform/freshness-metrics.ts); a window
      // without a datapoint means both stopped, so missing data breaches.
      {
        metric: customMetric('ScoreFreshnessHours', FRESHNESS_SERVICE, 'Maximum', FRESHNESS_PERIOD),
        alarmFriendlyName: 'ScoreFreshness',
        addAlarm: {
          Critical: {
            threshold: m.scoreFreshnessSloHours,
            comparisonOperator: gt,
            treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
            additionalDescription: `The newest scored partition is older than the ${m.scoreFreshnessSloHours} h SLO, or no run or reconcile reported for ${FRESHNESS_PERIOD.toHours()} h.`,
          },
        },
      },
      {
        metric: customMetric('NewestFeatureObjectAgeHours', FRESHNESS_SERVICE, 'Minimum', FRESHNESS_PERIOD),
        alarmFriendlyName: 'NoNewFeatureObjects',
        addAlarm: {
          Critical: {
            threshold: m.maxFeatureObjectAgeHours,
            comparisonOperator: gt,
            treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
            additionalDescription: `No new feature object arrived for ${m.maxFeatureObjectAgeHours} h (upstream stopped?), or no run or reconcile reported.`,
          },
        },
      },
      {
        metric: customMetric('NotProductionRate', 'read-scores', 'Average'),
        alarmFriendlyName: 'NotProductionServed',
        addAlarm: {
          Warning: {
            threshold: m.maxNonProductionServedPercent,
            comparisonOperator: gt,
            evaluationPeriods: m.nonProductionAlarmHours,
            datapointsToAlarm: m.nonProductionAlarmHours,
            additionalDescription: `More than ${m.maxNonProductionServedPercent} % of served scores were not from the Production version for ${m.nonProductionAlarmHours} h: the rescoring after a Production change has not finished.`,
          },
        },
      },
      {
        metric: customMetric('MaxFeatureDriftPsi', 'prepare-inference-data', 'Maximum'),
        alarmFriendlyName: 'FeatureDrift',
        addAlarm: {
          Warning: {
            threshold: m.driftPsiThreshold,
            comparisonOperator: gt,
            additionalDescription:
              'A feature of the scored data drifted from the Production model’s training data (PSI).',
          },
        },
      },
      {
        metric: customMetric('FallbackRate', 'read-scores', 'Average'),
        alarmFriendlyName: 'FallbackRate',
        addAlarm: {
          Warning: {
            threshold: m.maxFallbackRatePercent,
            comparisonOperator: gt,
            additionalDescription: 'Many reads are answered from fallback scores (unknown ids or expired scores).',
          },
        },
      },
    ];
    if (props.batchStateMachine) {
      // No successful batch within the SLO (schedule broken, every run failing): missing data counts as breaching.
      pipelineMetrics.push({
        metric: props.batchStateMachine.metricSucceeded({ period: Duration.hours(1), statistic: 'Sum' }),
        alarmFriendlyName: 'NoSuccessfulBatch',
        addAlarm: {
          Critical: {
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: m.scoreFreshnessSloHours,
            datapointsToAlarm: m.scoreFreshnessSloHours,
            treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
            additionalDescription: `No BatchInference run succeeded in the last ${m.scoreFreshnessSloHours} h (freshness SLO).`,
          },
        },
      });
    }
    mon.monitorCustom({
      alarmFriendlyName: 'Pipeline',
      humanReadableName: 'Pipeline metrics (freshness, drift, fallback)',
      metricGroups: [{ title: 'Pipeline', metrics: pipelineMetrics, important: true }],
    });

    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Ops alarm topic' });
    new CfnOutput(this, 'DashboardName', { value: this.dashboardName, description: 'CloudWatch dashboard' });
  }
}
