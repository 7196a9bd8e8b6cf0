#!/usr/bin/env bash
# Pipeline hook for a fleet: deploy the ECR templates through CloudFormation StackSets to many
# accounts and regions, then make live ECR match in every stack instance.
#
#   scripts/stackset-deploy.sh STACK_SET ACCOUNTS REGIONS [TEMPLATES_DIR]
#
#   STACK_SET      StackSet name (ecr.yaml `targets.stack_set`). With several templates
#                  (templates/ecr-01.yaml, ecr-02.yaml ...) each gets its own StackSet:
#                  STACK_SET-01, STACK_SET-02 ...; one templates/ecr.yaml goes to STACK_SET.
#   ACCOUNTS       comma-separated account ids (self-managed), or ou-... ids (service-managed:
#                  the StackSet is created with --permission-model SERVICE_MANAGED)
#   REGIONS        comma-separated regions
#   TEMPLATES_DIR  where `ecrgen template` wrote them (default: templates)
#
# Environment (all optional):
#   ADMIN_ROLE_ARN   self-managed administration role (default: AWSCloudFormationStackSetAdministrationRole)
#   EXECUTION_ROLE   execution role name in each account (default: AWSCloudFormationStackSetExecutionRole);
#                    ecrgen post-deploy assumes the same role
#   SYSTEM_NAME      overrides the templates' SystemName parameter
#   ECRGEN_ARGS      extra `ecrgen post-deploy` flags, e.g. "--output json"
#   AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL ... the StackSet's (administrator's) region and credentials
#
# The templates hold no account id or region: names come from ${SystemName}, ARNs from
# ${AWS::Partition}/${AWS::Region}/${AWS::AccountId}, exports from ${AWS::StackName}, which
# differs in every stack instance (StackSet-<name>-<uuid>), so one template fits every target.
# A StackSet that exists already is updated (every instance); a new one gets instances in
# ACCOUNTS x REGIONS. Exit code: the first failed AWS call's, else ecrgen's (0 in sync or fixed, 1 a target or a
# repository failed, 2 bad input).
set -euo pipefail

stack_set=${1:?usage: stackset-deploy.sh STACK_SET ACCOUNTS REGIONS [TEMPLATES_DIR]}
accounts=${2:?usage: stackset-deploy.sh STACK_SET ACCOUNTS REGIONS [TEMPLATES_DIR]}
regions=${3:?usage: stackset-deploy.sh STACK_SET ACCOUNTS REGIONS [TEMPLATES_DIR]}
dir=${4:-templates}
execution_role=${EXECUTION_ROLE:-AWSCloudFormationStackSetExecutionRole}
IFS=, read -r -a region_list <<< "$regions"
IFS=, read -r -a target_list <<< "$accounts"

if [[ $accounts == ou-* ]]; then
  model=(--permission-model SERVICE_MANAGED --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=true)
  targets=(--deployment-targets "OrganizationalUnitIds=${target_list[*]}")
  targets[1]=${targets[1]// /,}
else
  model=()  # the administration role, looked up when a StackSet is first created (not on updates)
  targets=(--accounts "${target_list[@]}")
fi
self_managed_model() {
  [[ $accounts == ou-* || ${#model[@]} -gt 0 ]] && return
  model=(--administration-role-arn "${ADMIN_ROLE_ARN:-arn:aws:iam::$(aws sts get-caller-identity \
           --query Account --output text):role/AWSCloudFormationStackSetAdministrationRole}"
         --execution-role-name "$execution_role")
}
parameters=()
[[ -n "${SYSTEM_NAME:-}" ]] && parameters=(--parameters "ParameterKey=SystemName,ParameterValue=$SYSTEM_NAME")

wait_for() {  # a StackSet operation has no CLI waiter: poll until it is done
  local name=$1 id=$2 status
  while status=$(aws cloudformation describe-stack-set-operation --stack-set-name "$name" \
                   --operation-id "$id" --query StackSetOperation.Status --output text); do
    case $status in
      SUCCEEDED) return 0 ;;
      FAILED|STOPPED) echo "StackSet $name: operation $id $status" >&2; return 1 ;;
      *) sleep 10 ;;
    esac
  done
  return 1
}

if [[ -f "$dir/ecr.stacks.json" ]]; then
  templates=("$dir"/ecr-[0-9]*.yaml)
else
  templates=("$dir/ecr.yaml")
fi
# The StackSets that exist, in one call however many templates there are: " name1 name2 ... "
existing=" $(aws cloudformation list-stack-sets --status ACTIVE --output text \
               --query "Summaries[?Status=='ACTIVE'].StackSetName" | tr -s '\t\n' '  ') "
names=()
for template in "${templates[@]}"; do
  file=$(basename "$template" .yaml)
  name=$stack_set${file#ecr}   # ecr.yaml -> STACK_SET, ecr-01.yaml -> STACK_SET-01
  names+=(--stack-set "$name")
  if [[ $existing == *" $name "* ]]; then
    # Every existing instance gets the new template. Instances in more accounts or regions are
    # added by hand: aws cloudformation create-stack-instances --stack-set-name NAME ...
    echo "+ update StackSet $name from $template" >&2
    id=$(aws cloudformation update-stack-set --stack-set-name "$name" --template-body "file://$template" \
           --capabilities CAPABILITY_IAM "${parameters[@]}" --query OperationId --output text)
  else
    echo "+ create StackSet $name from $template, instances in ${target_list[*]} x ${region_list[*]}" >&2
    self_managed_model
    aws cloudformation create-stack-set --stack-set-name "$name" --template-body "file://$template" \
      --capabilities CAPABILITY_IAM "${model[@]}" "${parameters[@]}" >/dev/null
    id=$(aws cloudformation create-stack-instances --stack-set-name "$name" "${targets[@]}" \
           --regions "${region_list[@]}" --query OperationId --output text)
  fi
  wait_for "$name" "$id"
done

# shellcheck disable=SC2086  # ECRGEN_ARGS is a list of flags
echo "+ ecrgen post-deploy ${names[*]} --execution-role $execution_role ${ECRGEN_ARGS:-}" >&2
exec ecrgen post-deploy "${names[@]}" --execution-role "$execution_role" ${ECRGEN_ARGS:-}
