#!/bin/sh
# Post-deploy step of the pipeline (CodeBuild, after the Dev stage): start one Training execution and wait for it.
#
# No training data yet (features/training/ of the Dev features bucket is empty, e.g. a fresh Dev account): prints a
# warning and exits 0 without starting a run, so the first deploy can reach Prod.
#
# Otherwise exits 0 when the execution SUCCEEDED. When it did not, BLOCK_PROMOTION_ON decides (config
# pipeline.blockPromotionOn):
#   failure               (default) exit 1 when the run failed (FAILED / TIMED_OUT / ABORTED, still running after
#                         WAIT_MINUTES); a candidate the model gate rejected (GateFailedError) only warns
#   failure-or-rejection  exit 1 on either
#   never                 warn and exit 0 whatever the outcome
# A refused AWS call always exits 1. A run still going after WAIT_MINUTES is left running (this role may only start
# and describe executions).
#
# Environment:
#   TRAINING_STATE_MACHINE_ARN  (required) ARN of the Training state machine (from the Dev training stack output)
#   FEATURES_BUCKET             (required) Dev features bucket (from the Dev data stack output)
#   WAIT_MINUTES                (required) how long to wait for the execution to end
#   BLOCK_PROMOTION_ON          failure | failure-or-rejection | never (default failure)
#   POLL_SECONDS                seconds between DescribeExecution calls (default 30)
#   RUN_TRIGGER                 `trigger` of the execution input (default pipeline)
#   CODEBUILD_RESOLVED_SOURCE_VERSION, CODEBUILD_BUILD_ID  set by CodeBuild; kept on the run as a note
#   AWS                         the AWS CLI command (default aws; tests point it at a stand-in)
set -eu

fail() {
  echo "start-training: $*" >&2
  exit 1
}

warn() {
  echo "start-training: WARNING: $*" >&2
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
[ -n "${FEATURES_BUCKET:-}" ] || fail "FEATURES_BUCKET is not set (Dev data stack output FeaturesBucketName)"
BLOCK_ON=${BLOCK_PROMOTION_ON:-failure}
case "$BLOCK_ON" in
  failure | failure-or-rejection | never) ;;
  *) fail "BLOCK_PROMOTION_ON must be failure, failure-or-rejection or never, got '$BLOCK_ON'" ;;
esac

# Outcome of a run that did not succeed: "failure" or "rejection" ($1), message ($2).
not_succeeded() {
  if [ "$BLOCK_ON" = never ] || { [ "$1" = rejection ] && [ "$BLOCK_ON" = failure ]; }; then
    warn "$2 (not blocking promotion: BLOCK_PROMOTION_ON=$BLOCK_ON)"
    exit 0
  fi
  fail "$2"
}

KEYS=$($AWS s3api list-objects-v2 --bucket "$FEATURES_BUCKET" --prefix training/ --max-keys 1 \
  --query KeyCount --output text) || fail "listing s3://$FEATURES_BUCKET/training/ failed"
if [ "$KEYS" = 0 ]; then
  warn "no training data under s3://$FEATURES_BUCKET/training/: skipping the Training run (upload features, then run mlops-batch train)"
  exit 0
fi

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
      case "$DETAIL" in
        GateFailedError*) not_succeeded rejection "Training run $RUN_ID: the model gate rejected the candidate: $DETAIL" ;;
        *) not_succeeded failure "Training run $RUN_ID ended $STATUS: $DETAIL" ;;
      esac
      ;;
  esac
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    not_succeeded failure "Training run $RUN_ID still $STATUS after $WAIT_MINUTES min (left running; see $EXECUTION_ARN)"
  fi
  sleep "$POLL_SECONDS"
done
