#!/usr/bin/env bash
# Lint every synthesized CloudFormation template with cfn-lint (config: .cfnlintrc.yaml).
# Fails on any error; warnings are printed but do not fail. Run `npx cdk synth` first (or pass CFN_LINT_SYNTH=1).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "cfn-lint not found: install it with 'pip install cfn-lint'" >&2
  exit 1
fi
if [[ "${CFN_LINT_SYNTH:-0}" == "1" ]]; then
  npx cdk synth --quiet >/dev/null
fi

mapfile -t templates < <(find cdk.out -name '*.template.json' -type f 2>/dev/null | sort)
if [[ ${#templates[@]} -eq 0 ]]; then
  echo "no templates in cdk.out: run 'npx cdk synth' first" >&2
  exit 1
fi

echo "cfn-lint $(cfn-lint --version | awk '{print $2}') on ${#templates[@]} template(s)"
cfn-lint --config-file .cfnlintrc.yaml --non-zero-exit-code error -- "${templates[@]}"
echo "cfn-lint: 0 errors"
