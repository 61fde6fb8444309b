import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { FRESHNESS_SERVICE } from '../../contracts/function-env';

/**
 * Namespace-wide freshness metrics under one `service` dimension (`freshness`), whichever function emits them — the
 * batch run's FindUnscored (every run, the no-work path included) and the scheduled reconcile — so each alarm watches
 * one metric. A figure that is unknown (nothing ever scored or arrived) is not emitted: the alarms treat missing data
 * as breaching.
 */
const metrics = new Metrics({ serviceName: FRESHNESS_SERVICE });

export function emitFreshness(f: {
  readonly scoreFreshnessHours: number | null;
  readonly newestFeatureObjectAgeHours: number | null;
}): void {
  if (f.scoreFreshnessHours !== null) {
    metrics.addMetric('ScoreFreshnessHours', MetricUnit.NoUnit, f.scoreFreshnessHours);
  }
  if (f.newestFeatureObjectAgeHours !== null) {
    metrics.addMetric('NewestFeatureObjectAgeHours', MetricUnit.NoUnit, f.newestFeatureObjectAgeHours);
  }
  metrics.publishStoredMetrics();
}
