// Runs before every test file (jest `setupFiles`).
// aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20 lacks it.
import '../../local/runtime/polyfills';

// The SDK warns on every client that Node 20 support ends in 2027; the project's minimum is documented in README.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Never let a test reach a real AWS account by accident.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
// Keep Powertools quiet and deterministic in tests.
process.env.POWERTOOLS_DEV ??= 'false';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'MlopsBatchPipeline';
process.env.POWERTOOLS_SERVICE_NAME ??= 'test';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
// Metrics are asserted by spying on Metrics (addMetric/singleMetric); don't print every EMF record into the test log.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

// ioredis arms a destroy timer on disconnect (`disconnectTimeout`, 2 s by default) and keeps it armed when the
// socket had already closed — as it has after a test kills its redis-server. That timer outlived jest's 500 ms for
// a worker to exit ("A worker process has failed to exit gracefully"). Clients the tests build get 100 ms, as the
// product's clients have (lambdas/platform/redis.ts).
import Redis from 'ioredis';

(Redis as unknown as { defaultOptions: { disconnectTimeout: number } }).defaultOptions.disconnectTimeout = 100;
