import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The pipeline's post-deploy step (`scripts/start-training-and-wait.sh`) against a stand-in AWS CLI that records its
 * calls and answers DescribeExecution with a scripted status sequence.
 */
const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'start-training-and-wait.sh');
const SM_ARN = 'arn:aws:states:eu-west-1:111111111111:stateMachine:mlops-batch-training';
const EXEC_ARN = 'arn:aws:states:eu-west-1:111111111111:execution:mlops-batch-training:run';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-training-'));
const fakeAws = path.join(dir, 'aws');
fs.writeFileSync(
  fakeAws,
  `#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$2" in
  list-objects-v2)
    echo "\${FAKE_TRAINING_KEYS:-1}" ;;
  start-execution)
    [ -z "\${FAKE_START_FAIL:-}" ] || { echo "An error occurred (AccessDeniedException)" >&2; exit 255; }
    echo "${EXEC_ARN}" ;;
  describe-execution)
    case "$*" in *"error, cause"*) printf '%s\\t%s\\n' "\${FAKE_ERROR:-States.TaskFailed}" "\${FAKE_CAUSE:-the training job failed}"; exit 0 ;; esac
    n=$(cat "$FAKE_COUNT" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$FAKE_COUNT"
    status=$(echo "$FAKE_STATUSES" | cut -d, -f"$n")
    [ -n "$status" ] || status=$(echo "$FAKE_STATUSES" | awk -F, '{print $NF}')
    echo "$status" ;;
  *) echo "unexpected call: $*" >&2; exit 2 ;;
esac
`,
  { mode: 0o755 },
);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let runNo = 0;
function run(statuses: string, env: Record<string, string | undefined> = {}) {
  runNo += 1;
  const log = path.join(dir, `calls-${runNo}.log`);
  const count = path.join(dir, `count-${runNo}`);
  const res = spawnSync('sh', [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      AWS: fakeAws,
      FAKE_LOG: log,
      FAKE_COUNT: count,
      FAKE_STATUSES: statuses,
      TRAINING_STATE_MACHINE_ARN: SM_ARN,
      FEATURES_BUCKET: 'mlops-batch-dev-features-111111111111-eu-west-1',
      WAIT_MINUTES: '5',
      POLL_SECONDS: '0',
      CODEBUILD_RESOLVED_SOURCE_VERSION: 'abc123def4567890',
      CODEBUILD_BUILD_ID: 'mlops-batch-TrainOnDev:1234',
      ...env,
    },
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [];
  return { code: res.status, stdout: res.stdout, stderr: res.stderr, calls };
}

describe('start-training-and-wait.sh', () => {
  test('starts one execution of the given state machine and exits 0 once it SUCCEEDED', () => {
    const r = run('RUNNING,RUNNING,SUCCEEDED');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [list, start, ...describes] = r.calls;
    expect(list).toBe(
      's3api list-objects-v2 --bucket mlops-batch-dev-features-111111111111-eu-west-1 --prefix training/ --max-keys 1 --query KeyCount --output text',
    );
    expect(start).toMatch(
      new RegExp(
        `^stepfunctions start-execution --state-machine-arn ${SM_ARN} --name pipeline-\\d{14}-abc123def456 --input `,
      ),
    );
    const input = JSON.parse(/--input (\{.*\}) --query/.exec(start!)![1]!) as Record<string, string>;
    expect(input).toEqual({
      trigger: 'pipeline',
      note: 'pipeline commit abc123def456, build mlops-batch-TrainOnDev:1234',
    });
    expect(describes).toEqual(
      Array(3).fill(`stepfunctions describe-execution --execution-arn ${EXEC_ARN} --query status --output text`),
    );
    expect(r.stdout).toContain('SUCCEEDED');
  });

  test('a FAILED execution fails the step with its error and cause', () => {
    const r = run('RUNNING,FAILED');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Training run pipeline-\d{14}-abc123def456 ended FAILED: States.TaskFailed\s+the training job failed/,
    );
  });

  test('no training data yet (fresh Dev account): warns and succeeds without starting a run', () => {
    const r = run('FAILED', { FAKE_TRAINING_KEYS: '0' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /WARNING: no training data under s3:\/\/mlops-batch-dev-features-.*\/training\/: skipping/,
    );
    expect(r.calls).toHaveLength(1);
    expect(r.calls.some((c) => c.includes('start-execution'))).toBe(false);
  });

  test('a gate rejection warns by default (failure), blocks with failure-or-rejection', () => {
    const rejected = { FAKE_ERROR: 'GateFailedError', FAKE_CAUSE: 'validation:auc 0.61 < 0.7' };
    const warned = run('RUNNING,FAILED', rejected);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(
      /WARNING: .*model gate rejected the candidate: GateFailedError\s+validation:auc.*not blocking/,
    );
    const blocked = run('FAILED', { ...rejected, BLOCK_PROMOTION_ON: 'failure-or-rejection' });
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('model gate rejected the candidate');
  });

  test('never: a failed run only warns', () => {
    const r = run('FAILED', { BLOCK_PROMOTION_ON: 'never' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/WARNING: .*ended FAILED.*BLOCK_PROMOTION_ON=never/);
    expect(run('SUCCEEDED', { BLOCK_PROMOTION_ON: 'sometimes' }).stderr).toContain(
      "BLOCK_PROMOTION_ON must be failure, failure-or-rejection or never, got 'sometimes'",
    );
  });

  test.each(['TIMED_OUT', 'ABORTED'])('%s fails the step', (status) => {
    const r = run(status);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`ended ${status}`);
  });

  test('still running when the wait is over: fails, leaving the execution running', () => {
    const r = run('RUNNING', { WAIT_MINUTES: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/still RUNNING after 0 min \(left running; see arn:aws:states:.*:execution:/);
    expect(r.calls.some((c) => c.includes('stop-execution'))).toBe(false);
  });

  test('a refused StartExecution fails the step', () => {
    const r = run('SUCCEEDED', { FAKE_START_FAIL: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('StartExecution failed');
    expect(r.calls).toHaveLength(2);
  });

  test('missing or bad settings are named', () => {
    expect(run('SUCCEEDED', { TRAINING_STATE_MACHINE_ARN: '' }).stderr).toContain(
      'TRAINING_STATE_MACHINE_ARN is not set',
    );
    const bad = run('SUCCEEDED', { WAIT_MINUTES: '1h' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("WAIT_MINUTES must be a whole number of minutes, got '1h'");
    expect(bad.calls).toEqual([]);
  });

  test('without CodeBuild variables the run id still is a valid execution name', () => {
    const r = run('SUCCEEDED', { CODEBUILD_RESOLVED_SOURCE_VERSION: undefined, CODEBUILD_BUILD_ID: undefined });
    expect(r.code).toBe(0);
    expect(r.calls[1]).toMatch(/--name pipeline-\d{14}-unknown /);
  });
});
