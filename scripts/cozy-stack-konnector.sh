#!/usr/bin/env bash
# A `konnectors.cmd` for cozy-stack that runs browserkonnector (Python) connectors beside the usual
# Node ones. cozy-stack's konnector worker (worker/exec/konnector.go, common.go) copies the konnector's
# files into a work directory, `cd`s there and runs
#     <konnectors.cmd> <work directory>
# with an environment made ONLY of COZY_URL, COZY_CREDENTIALS, COZY_FIELDS, COZY_PARAMETERS (the JSON
# `null` when the manifest has no parameters), COZY_PAYLOAD, COZY_LANGUAGE (the manifest's "language"),
# COZY_LOCALE, COZY_TIME_LIMIT, COZY_JOB_ID, COZY_JOB_MANUAL_EXECUTION and COZY_TRIGGER_ID: no PATH, no
# HOME, nothing from the stack's service unit. So this script's own configuration cannot come from the
# environment: it reads it from `cozy-stack-konnector.conf` next to this script (KEY=VALUE lines, `#`
# comments; only the keys below are read, nothing is executed):
#
#   BROWSERKONNECTOR_HOME       the clone holding .venv (default: this script's repository)
#   BROWSERKONNECTOR_ARTIFACTS  where failure bundles go (default: /var/tmp/browserkonnector)
#   BROWSERKONNECTOR_CHROMIUM   the Chromium binary, if not Debian's
#   NODE_BIN                    node for Node konnectors (default: nodejs or node on PATH)
#   PATH                        default: /usr/local/bin:/usr/bin:/bin
#   HOME                        default: $BROWSERKONNECTOR_ARTIFACTS/home (Chromium's and fontconfig's caches)
#
# `cozy-stack-konnector.sh --write-config` writes that file with the values it would use now (defaults,
# overridden by any of these variables set in the installer's environment): run it once at install
# time to bake them in. `cozy-stack-konnector.sh --print-config` shows what a job would use.
#
# Configure the stack (cozy.yaml):
#
#     konnectors:
#       cmd: /opt/browserkonnector/scripts/cozy-stack-konnector.sh
#
# and give a Python connector `"language": "python"` in its manifest.konnector. Install browserkonnector
# and Chromium on the stack's host once: `scripts/setup` in a clone at /opt/browserkonnector.
#
# Output limits of the stack (common.go): it reads stdout with a 64 KiB line scanner (a longer line stops
# its reading for good) and keeps the first 256 KiB of stderr. browserkonnector writes one JSON object per
# stdout line, each under 60 KiB (a longer message is cut inside the JSON, never mid-line), and nothing
# but an interpreter crash on stderr in job mode.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
conf="$here/cozy-stack-konnector.conf"
keys=(BROWSERKONNECTOR_HOME BROWSERKONNECTOR_ARTIFACTS BROWSERKONNECTOR_CHROMIUM NODE_BIN PATH HOME)

if [ "${1:-}" = "--write-config" ]; then
  # Install time: the installer's environment (or the defaults) becomes the file the jobs read.
  : "${BROWSERKONNECTOR_HOME:=$(cd "$here/.." && pwd)}"
  : "${BROWSERKONNECTOR_ARTIFACTS:=/var/tmp/browserkonnector}"
  {
    echo "# Read by cozy-stack-konnector.sh: the stack's jobs get no environment but COZY_*."
    for key in "${keys[@]}"; do
      value="${!key:-}"
      case "$key" in
        PATH) value="/usr/local/bin:/usr/bin:/bin" ;;  # the installer's PATH may hold user directories
        HOME) value="$BROWSERKONNECTOR_ARTIFACTS/home" ;;
      esac
      [ -n "$value" ] && echo "$key=$value"
    done
  } > "$conf"
  echo "wrote $conf"
  exit 0
fi

# A job: forget whatever this process inherited for our keys, then read the file.
for key in "${keys[@]}"; do unset "$key"; done
if [ -f "$conf" ]; then
  lineno=0
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case "$line" in ''|'#'*) continue ;; esac
    key="${line%%=*}"
    value="${line#*=}"
    if [ "$key" = "$line" ] || [[ ! " ${keys[*]} " == *" $key "* ]]; then
      >&2 echo "$conf:$lineno: expected KEY=VALUE with KEY one of ${keys[*]}"
      exit 1
    fi
    printf -v "$key" '%s' "$value"
  done < "$conf"
fi
BROWSERKONNECTOR_HOME="${BROWSERKONNECTOR_HOME:-$(cd "$here/.." && pwd)}"
BROWSERKONNECTOR_ARTIFACTS="${BROWSERKONNECTOR_ARTIFACTS:-/var/tmp/browserkonnector}"
export PATH="${PATH:-/usr/local/bin:/usr/bin:/bin}"
export HOME="${HOME:-$BROWSERKONNECTOR_ARTIFACTS/home}"
[ -n "${BROWSERKONNECTOR_CHROMIUM:-}" ] && export BROWSERKONNECTOR_CHROMIUM

if [ "${1:-}" = "--print-config" ]; then
  for key in "${keys[@]}"; do echo "$key=${!key:-}"; done
  exit 0
fi

workdir="${1:?usage: cozy-stack-konnector.sh KONNECTOR_DIRECTORY | --write-config | --print-config}"
if [ ! -e "$workdir" ]; then
  >&2 echo "$workdir does not exist"
  exit 1
fi

case "${COZY_LANGUAGE:-node}" in
  python|browserkonnector)
    mkdir -p "$BROWSERKONNECTOR_ARTIFACTS" "$HOME"
    # --log json: the stack parses stdout lines; failure bundles outlive the job's work directory.
    exec "$BROWSERKONNECTOR_HOME/.venv/bin/browserkonnector" run "$workdir" --log json \
      --artifacts "$BROWSERKONNECTOR_ARTIFACTS"
    ;;
  *)
    node_bin="${NODE_BIN:-$(command -v nodejs || command -v node || true)}"
    if [ -z "$node_bin" ]; then
      >&2 echo "Unable to find nodejs binary, exiting..."
      exit 1
    fi
    exec "$node_bin" "$workdir"
    ;;
esac
