#!/usr/bin/env bash
# Checks the AWS SAM template with cfn-lint (no error or warning allowed).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/python-env.sh cfn-lint)
"$venv/bin/cfn-lint" deploy/aws/template.yaml
echo "deploy/aws/template.yaml: cfn-lint clean" >&2
