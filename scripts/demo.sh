#!/usr/bin/env bash
# make demo: run the quickstart stack with `pulumi up` against a local ims-emulator, show the outputs,
# then destroy the stack (DEMO_KEEP=1 keeps it). Needs the Pulumi CLI; installs it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$HOME/.pulumi/bin:$PATH"

if ! command -v pulumi >/dev/null 2>&1; then
  echo "demo: the Pulumi CLI is missing; installing it with the official installer (https://get.pulumi.com)"
  if ! curl -fsSL https://get.pulumi.com | sh; then
    cat >&2 <<'MSG'
demo: could not install the Pulumi CLI (no network access to get.pulumi.com?).
      Install it yourself (https://www.pulumi.com/docs/install/), make sure `pulumi version` works,
      then run `make demo` again. Everything else the demo needs is in .venv already.
MSG
    exit 1
  fi
fi

state_dir="$PWD/.demo-state"
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
echo "demo: ims-emulator at $url"

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
