import type { Context } from 'aws-lambda';
import { logger, withLambdaContext } from '../../../lambdas/platform/logger';

const context = {
  awsRequestId: 'req-0123',
  functionName: 'mlops-batch-dev-find-unscored',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:mlops-batch-dev-find-unscored',
  memoryLimitInMB: '512',
} as unknown as Context;

describe('withLambdaContext', () => {
  it('adds the request id and function name to the log lines written during the invocation', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    logger.setLogLevel('INFO'); // the suite runs with POWERTOOLS_LOG_LEVEL=SILENT
    try {
      const handler = withLambdaContext(async (event: { n: number }) => {
        logger.info('inside', { n: event.n });
        return event.n + 1;
      });
      await expect(handler({ n: 1 }, context)).resolves.toBe(2);
    } finally {
      spy.mockRestore();
      logger.setLogLevel('SILENT');
    }
    const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'inside');
    expect(line).toMatchObject({ function_request_id: 'req-0123', function_name: 'mlops-batch-dev-find-unscored' });
  });

  it('passes through when called without a context (tests, scripts)', async () => {
    await expect(withLambdaContext(async (e: number) => e * 2)(21)).resolves.toBe(42);
  });
});
