#!/usr/bin/env bash
# A `konnectors.cmd` for cozy-stack that runs browserkonnector (Python) connectors beside the usual
# Node ones. cozy-stack's konnector worker copies the konnector's files into a work directory and runs
#     <konnectors.cmd> <work directory>
# with COZY_URL, COZY_CREDENTIALS, COZY_FIELDS, COZY_PARAMETERS, COZY_LANGUAGE (the manifest's
# "language"), COZY_LOCALE, COZY_TIME_LIMIT, COZY_JOB_ID and COZY_JOB_MANUAL_EXECUTION in the environment;
# it reads one JSON object per stdout line and takes the last `critical` message as the job's error.
# browserkonnector speaks exactly that when COZY_URL and COZY_CREDENTIALS are set.
#
# Configure the stack (cozy.yaml) to use this script:
#
#     konnectors:
#       cmd: /opt/browserkonnector/scripts/cozy-stack-konnector.sh
#
# and give a Python connector `"language": "python"` in its manifest.konnector (see
# connectors/demo_vendor/manifest.konnector). Install browserkonnector and Chromium on the stack's host
# once: `scripts/setup` in a clone at /opt/browserkonnector does both (Debian packages + .venv).
#
# Optional environment (set it in the stack's service unit):
#   BROWSERKONNECTOR_HOME       the clone holding .venv (default: this script's repository)
#   BROWSERKONNECTOR_ARTIFACTS  where failure bundles go (default: /var/tmp/browserkonnector)
#   BROWSERKONNECTOR_CHROMIUM   the Chromium binary, if not Debian's
#   NODE_BIN                    node for Node konnectors (default: node on PATH)
set -euo pipefail

workdir="${1:?usage: cozy-stack-konnector.sh KONNECTOR_DIRECTORY}"
if [ ! -e "$workdir" ]; then
  >&2 echo "$workdir does not exist"
  exit 1
fi

case "${COZY_LANGUAGE:-node}" in
  python|browserkonnector)
    home="${BROWSERKONNECTOR_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
    artifacts="${BROWSERKONNECTOR_ARTIFACTS:-/var/tmp/browserkonnector}"
    mkdir -p "$artifacts"
    # --log json: the stack parses stdout lines; failure bundles outlive the job's work directory.
    exec "$home/.venv/bin/browserkonnector" run "$workdir" --log json --artifacts "$artifacts"
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
