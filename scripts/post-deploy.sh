#!/usr/bin/env bash
# Pipeline hook: deploy the ECR stack, then make live ECR match what the stack wants.
#
#   scripts/post-deploy.sh STACK_NAME [TEMPLATE]        (TEMPLATE defaults to templates/ecr.yaml)
#
# Environment (all optional):
#   SYSTEM_NAME          overrides the template's SystemName parameter
#   S3_BUCKET            upload the template there first (needed above 51,200 bytes)
#   ECRGEN_ARGS          extra `ecrgen post-deploy` flags, e.g. "--output json" or "--concurrency 16"
#   AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL ... the usual AWS settings, honoured by both tools
#
# Exit code: the deploy's if it fails, else ecrgen's (0 in sync or fixed, 1 a repository failed
# or is missing, 2 bad input). `--capabilities CAPABILITY_IAM` is passed because the template
# may hold the EcrgenPostDeployPolicy managed policy (`post_deploy_policy: true`).
set -euo pipefail

stack=${1:?usage: post-deploy.sh STACK_NAME [TEMPLATE]}
template=${2:-templates/ecr.yaml}

deploy=(aws cloudformation deploy --stack-name "$stack" --template-file "$template"
        --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset)
[[ -n "${SYSTEM_NAME:-}" ]] && deploy+=(--parameter-overrides "SystemName=$SYSTEM_NAME")
[[ -n "${S3_BUCKET:-}" ]] && deploy+=(--s3-bucket "$S3_BUCKET")

echo "+ ${deploy[*]}" >&2
"${deploy[@]}"

# shellcheck disable=SC2086  # ECRGEN_ARGS is a list of flags
echo "+ ecrgen post-deploy --stack-name $stack ${ECRGEN_ARGS:-}" >&2
exec ecrgen post-deploy --stack-name "$stack" ${ECRGEN_ARGS:-}
