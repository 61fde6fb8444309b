#!/bin/sh
# Post-deploy step of the pipeline (CodeBuild, after the Dev stage): start one Training execution and wait for it.
#
# Exits 0 when the execution SUCCEEDED; exits 1 (failing the pipeline) when it FAILED / TIMED_OUT / ABORTED, when it
# is still running after WAIT_MINUTES (it is left running: this role may only start and describe executions), or when
# an AWS call fails.
#
# Environment:
#   TRAINING_STATE_MACHINE_ARN  (required) ARN of the Training state machine (from the Dev training stack output)
#   WAIT_MINUTES                (required) how long to wait for the execution to end
#   POLL_SECONDS                seconds between DescribeExecution calls (default 30)
#   RUN_TRIGGER                 `trigger` of the execution input (default pipeline)
#   CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_BUILD_ID  set by CodeBuild; kept on the run as a note
#   AWS                         the AWS CLI command (default aws; tests point it at a stand-in)
set -eu

fail() {
  echo "start-training: $*" >&2
  exit 1
}

[ -n "${TRAINING_STATE_MACHINE_ARN:-}" ] || fail "TRAINING_STATE_MACHINE_ARN is not set (Dev training stack output TrainingStateMachineArn)"
case "${WAIT_MINUTES:-}" in
  '' | *[!0-9]*) fail "WAIT_MINUTES must be a whole number of minutes, got '${WAIT_MINUTES:-}'" ;;
esac
POLL_SECONDS=${POLL_SECONDS:-30}
case "$POLL_SECONDS" in
  '' | *[!0-9]*) fail "POLL_SECONDS must be a whole number of seconds, got '$POLL_SECONDS'" ;;
esac
AWS=${AWS:-aws}
TRIGGER=${RUN_TRIGGER:-pipeline}

commit=${CODEBUILD_RESOLVED_SOURCE_VERSION:-unknown}
short=$(printf '%s' "$commit" | cut -c1-12 | tr -cd 'A-Za-z0-9')
[ -n "$short" ] || short=unknown
# Execution name = run id: <= 80 chars, and the training job name derived from it must stay valid.
RUN_ID="pipeline-$(date -u +%Y%m%d%H%M%S)-$short"
INPUT=$(printf '{"trigger":"%s","note":"pipeline commit %s, build %s"}' \
  "$TRIGGER" "$short" "$(printf '%s' "${CODEBUILD_BUILD_ID:-local}" | tr -cd 'A-Za-z0-9:._-')")

echo "Starting Training run $RUN_ID on $TRAINING_STATE_MACHINE_ARN (waiting at most $WAIT_MINUTES min)"
EXECUTION_ARN=$($AWS stepfunctions start-execution \
  --state-machine-arn "$TRAINING_STATE_MACHINE_ARN" \
  --name "$RUN_ID" \
  --input "$INPUT" \
  --query executionArn --output text) || fail "StartExecution failed"
[ -n "$EXECUTION_ARN" ] || fail "StartExecution returned no execution ARN"
echo "Execution: $EXECUTION_ARN"

deadline=$(($(date +%s) + WAIT_MINUTES * 60))
while :; do
  STATUS=$($AWS stepfunctions describe-execution --execution-arn "$EXECUTION_ARN" --query status --output text) ||
    fail "DescribeExecution of $EXECUTION_ARN failed"
  case "$STATUS" in
    SUCCEEDED)
      echo "Training run $RUN_ID SUCCEEDED"
      exit 0
      ;;
    RUNNING | PENDING_REDRIVE) ;;
    *)
      DETAIL=$($AWS stepfunctions describe-execution --execution-arn "$EXECUTION_ARN" \
        --query '[error, cause]' --output text 2>/dev/null || true)
      fail "Training run $RUN_ID ended $STATUS: $DETAIL"
      ;;
  esac
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    fail "Training run $RUN_ID still $STATUS after $WAIT_MINUTES min (left running; see $EXECUTION_ARN)"
  fi
  sleep "$POLL_SECONDS"
done
