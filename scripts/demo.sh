#!/usr/bin/env bash
# make demo: the quickstart stack against a local ims-emulator.
# - With the Pulumi CLI (on PATH or in ~/.pulumi/bin), or when its official installer can be reached (it is
#   fetched from https://get.pulumi.com into ~/.pulumi, after saying so; DEMO_NO_INSTALL=1 never installs):
#   `pulumi up` with a local file backend in .demo-state/, the stack outputs, then `pulumi destroy`
#   (DEMO_KEEP=1 keeps the stack).
# - Otherwise: one line saying so, then the same program as a dry run with no CLI (`ims-provider try`):
#   Pulumi's mock runtime, the real provider, a bundled emulator; exit status 0 only when the image was
#   made and deleted again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
EXAMPLE=examples/quickstart
export PATH="$HOME/.pulumi/bin:$PATH"

dry_run() {
  echo "demo: $1; running the quickstart as a dry run instead (no Pulumi CLI, nothing deployed):"
  echo "demo: $VENV/bin/ims-provider try $EXAMPLE"
  exec "$VENV/bin/ims-provider" try "$EXAMPLE" --job-seconds "${DEMO_JOB_SECONDS:-3}"
}

if ! command -v pulumi >/dev/null 2>&1; then
  if [ "${DEMO_NO_INSTALL:-0}" = "1" ]; then
    dry_run "no Pulumi CLI, and DEMO_NO_INSTALL=1"
  fi
  if ! curl -fsS --max-time 10 -o /dev/null https://get.pulumi.com 2>/dev/null; then
    dry_run "no Pulumi CLI, and its installer (https://get.pulumi.com) cannot be reached"
  fi
  echo "demo: the Pulumi CLI is missing: installing it with its official installer (https://get.pulumi.com)"
  echo "demo: into $HOME/.pulumi/bin (set DEMO_NO_INSTALL=1 to never install; remove that directory to undo)"
  if ! curl -fsSL --max-time 300 https://get.pulumi.com | sh; then
    dry_run "the Pulumi CLI installer failed"
  fi
fi

state_dir="${DEMO_STATE_DIR:-$PWD/.demo-state}"
mkdir -p "$state_dir"
export PULUMI_BACKEND_URL="file://$state_dir"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-ims-demo}"
export PULUMI_SKIP_UPDATE_CHECK=true

log="$state_dir/emulator.log"
"$VENV/bin/ims-emulator" --port 0 --job-seconds "${DEMO_JOB_SECONDS:-8}" >"$log" 2>&1 &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  url=$(sed -n 's/^ims-emulator listening on //p' "$log" | head -n 1)
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "${url:-}" ]; then
  echo "demo: ims-emulator did not start; its log:" >&2
  cat "$log" >&2
  exit 1
fi
echo "demo: $(pulumi version) against ims-emulator at $url (state in $state_dir)"

pulumi stack select --create demo >/dev/null
pulumi config set ims:endpoint "$url"
pulumi config set ims:region cn-north-4
pulumi config set ims:accessKey EMULATORACCESSKEY
pulumi config set --secret ims:secretKey EMULATORSECRETKEY
pulumi up --yes
pulumi stack output
if [ "${DEMO_KEEP:-0}" != "1" ]; then
  pulumi destroy --yes
fi
