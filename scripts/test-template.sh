#!/usr/bin/env bash
# Checks the deployment descriptions: the AWS SAM template with cfn-lint (no
# error or warning allowed), and the Google Cloud Run service and job
# descriptions (valid YAML, and their container args accepted by the
# binary's command line).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
venv=$(scripts/python-env.sh cfn-lint)
"$venv/bin/cfn-lint" deploy/aws/template.yaml
echo "deploy/aws/template.yaml: cfn-lint clean" >&2
cargo build --quiet --bin stac-indexed
"$venv/bin/python" - "$CARGO_TARGET_DIR/debug/stac-indexed" deploy/gcp/*.yaml <<'PY'
import subprocess, sys, yaml
binary, files = sys.argv[1], sys.argv[2:]
for path in files:
    document = yaml.safe_load(open(path))
    spec = document["spec"]["template"]["spec"]
    spec = spec.get("template", {}).get("spec", spec)  # a Job nests one more template
    for container in spec["containers"]:
        args = container["args"]
        result = subprocess.run([binary, *args, "--help"], capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"{path}: stac-indexed {' '.join(args)} is refused:\n{result.stderr}")
    print(f"{path}: {document['kind']} {document['metadata']['name']}: args accepted", file=sys.stderr)
PY
