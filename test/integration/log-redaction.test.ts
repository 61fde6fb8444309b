/**
 * No secret and no feature value in a log line: errors go through one redaction point (lambdas/platform/redact.ts),
 * validation summaries carry no value. Real redis-server for the ioredis ReplyError.
 */
import Redis from 'ioredis';
import type { Violation } from '../../lambdas/data/validation-report';
import { buildReport, summarizeReport, ViolationLog } from '../../lambdas/data/validation-report';
import { logger } from '../../lambdas/platform/logger';
import { redactError, redactText } from '../../lambdas/platform/redact';
import { describeWithServers } from '../support/servers';

const TOKEN = 'tok-3f9a1c77e2b64d0e8a5b';

/** Log lines written while `fn` runs. */
async function captured(fn: () => void | Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const spyErr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  logger.setLogLevel('DEBUG'); // tests run SILENT (test/support/setup-env.ts)
  try {
    await fn();
  } finally {
    logger.setLogLevel('SILENT');
    spy.mockRestore();
    spyErr.mockRestore();
  }
  return lines;
}

describeWithServers('log redaction (real redis-server)', { redis: true }, (env) => {
  it('an AUTH ReplyError (command.args holds the token) logged as error and as cause never shows the token', async () => {
    const redis = new Redis(env.redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    const err = await redis.auth(TOKEN).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    redis.disconnect();
    expect(err).toBeInstanceOf(Error);
    // The raw error does carry it (this is what leaked before).
    expect(JSON.stringify(err)).toContain(TOKEN);
    const wrapped = new Error('Score store unavailable', { cause: err });
    const lines = await captured(() => {
      logger.error('Read API failed', { error: err });
      logger.warn('Score store unavailable', { error: wrapped });
      logger.error('nested', { details: { failure: err } });
    });
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).not.toContain(TOKEN);
    expect(lines.join('')).toContain('ReplyError');
  });
});

describe('redaction rules', () => {
  it('masks URL credentials, AUTH commands and password fields in text; drops every other error property', () => {
    expect(redactText(`connect redis://u:${TOKEN}@h:6379 failed; AUTH ${TOKEN}; password=${TOKEN}`)).not.toContain(
      TOKEN,
    );
    const e = Object.assign(new Error('x'), { command: { name: 'auth', args: [TOKEN] }, code: 'WRONGPASS' });
    expect(JSON.stringify(redactError(e))).not.toContain(TOKEN);
    expect(redactError(e)).toMatchObject({ name: 'Error', message: 'x', code: 'WRONGPASS' });
  });

  it('a validation summary (execution cause, run record, alert) names file, line and rule, never a value', () => {
    const log = new ViolationLog(10);
    const v = (rule: Violation['rule'], column: string | null, value: string): Violation => ({
      file: 'inference/dt=2026-11-01/a.csv',
      line: 2,
      column,
      rule,
      value,
      message: `column "${value}" is not in feature contract`,
    });
    log.add(v('out_of_range', 'monthly_charges', '98765.43'));
    log.add(v('header_unexpected_column', 'C0004711', 'C0004711'));
    const file = {
      file: 'a',
      status: 'ok' as const,
      fileViolations: [],
      header: [],
      rowsIn: 2,
      rowsValid: 0,
      rowsQuarantined: 2,
      countsByRule: {},
    };
    const text = summarizeReport(buildReport({ name: 'c', version: '1' } as never, 'inference', [file], log, 0.05));
    expect(text).toContain('a.csv:2 [monthly_charges] out_of_range');
    expect(text).not.toContain('98765.43');
    expect(text).not.toContain('C0004711');
  });
});
