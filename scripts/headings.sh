# Sourced by scripts/demo.sh: `step TEXT` prints a heading, bold only on a terminal and never
# with NO_COLOR set (https://no-color.org); `show CMD...` prints the command line, then runs it.
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; "$@"; }
