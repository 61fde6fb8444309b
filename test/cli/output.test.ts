/**
 * The CLI's stdout discipline (cli/output.ts): while a command runs, anything but its result — a handler's
 * Powertools log line, a console.log — goes to stderr, so `--json` prints exactly one JSON document.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { guardStdout, oneLine, print, table } from '../../cli/output';

function capture(fn: () => void): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    stdout += String(c);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  });
  try {
    fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

describe('guardStdout', () => {
  it('sends console and Powertools log lines to stderr; the result alone reaches stdout', () => {
    const saved = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const logger = new Logger({ serviceName: 'approval-event' });
    const r = capture(() => {
      const release = guardStdout();
      try {
        logger.info('Approval recorded', { version: 1 });
        process.stdout.write('a stray line\n'); // console.log under jest --silent never reaches the stream
        print({ json: true }, { version: 1, status: 'Approved' }, () => 'unused');
      } finally {
        release();
      }
    });
    process.env.POWERTOOLS_LOG_LEVEL = saved;
    expect(JSON.parse(r.stdout)).toEqual({ version: 1, status: 'Approved' });
    expect(r.stderr).toContain('"message":"Approval recorded"');
    expect(r.stderr).toContain('a stray line');
  });

  it('restores stdout when released', () => {
    const r = capture(() => {
      guardStdout()();
      process.stdout.write('after\n');
    });
    expect(r).toEqual({ stdout: 'after\n', stderr: '' });
  });
});

describe('table and oneLine', () => {
  it('pads columns to the widest cell and trims line ends', () => {
    expect(
      table([
        ['A', 'BB'],
        ['ccc', ''],
      ]),
    ).toBe('A    BB\nccc');
  });

  it('collapses whitespace and cuts with an ellipsis', () => {
    expect(oneLine('a\n  b\tc', 4)).toBe('a b…');
    expect(oneLine(undefined)).toBe('');
  });
});
