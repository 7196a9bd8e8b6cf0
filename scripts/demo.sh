#!/usr/bin/env bash
# `make demo`, fully offline: a local moto server plays AWS on 127.0.0.1.
#   1. deploy templates/ecr.yaml through moto's CloudFormation, which (like CloudFormation when
#      the source article was written) leaves scan on push off and no lifecycle policy;
#   2. someone flips a repository to MUTABLE "in the console";
#   3. `ecrgen post-deploy --check` finds the drift (exit 1), `ecrgen post-deploy` fixes it,
#      and `--check` is clean; the server is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

workdir=$(mktemp -d)
pidfile="$workdir/moto.pid"
cleanup() {
    python scripts/moto_local.py stop "$pidfile" || true
    rm -rf "$workdir"
}
trap cleanup EXIT

url=$(python scripts/moto_local.py start "$pidfile")
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo \
       AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_ECR AWS_ENDPOINT_URL_CLOUDFORMATION || true
stack=myapp-ecr

# shellcheck source=scripts/headings.sh
source scripts/headings.sh  # step: a heading, bold only on a terminal; show: print, then run

step "moto server on $url; deploying templates/ecr.yaml as stack $stack"
python - "$stack" templates/ecr.yaml <<'PY'
import sys, boto3
stack, path = sys.argv[1:]
cfn = boto3.client("cloudformation")
cfn.create_stack(StackName=stack, TemplateBody=open(path).read(), Capabilities=["CAPABILITY_IAM"])
cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1})
for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]:
    print(f"  {r['ResourceType']:24} {r['PhysicalResourceId']}")
PY

step "someone sets myapp-ecr-php-app to MUTABLE in the console"
python -c 'import boto3; boto3.client("ecr").put_image_tag_mutability(repositoryName="myapp-ecr-php-app", imageTagMutability="MUTABLE")'

step "drift detection: --check writes nothing and exits 1 on drift"
set +e
show ecrgen post-deploy --stack-name "$stack" --check
code=$?
set -e
echo "exit code: $code"
[[ $code == 1 ]]

step "the pipeline hook: fix it"
show ecrgen post-deploy --stack-name "$stack"

step "--check again: clean, and the run only read (apiCalls)"
show ecrgen post-deploy --stack-name "$stack" --check --output json
echo "exit code: 0"
