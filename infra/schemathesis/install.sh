#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI fuzzer the fault suite drives) from PyPI into a virtualenv
# in the cache, outside the repo, and prints the path of its `st` command. Idempotent: a complete
# install of this version is reused.
#   bash infra/schemathesis/install.sh   →   /root/.cache/eddy/schemathesis-4.32.5/bin/st
set -euo pipefail
version=${EDDY_SCHEMATHESIS_VERSION:-4.32.5}
venv=${EDDY_CACHE_DIR:-$HOME/.cache/eddy}/schemathesis-$version
say() { echo "schemathesis: $*" >&2; }

# A venv records its own path, so it is built in place; the marker says the install completed.
if [ ! -f "$venv/.complete" ]; then
  say "installing schemathesis $version from PyPI into $venv"
  started=$SECONDS
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
  touch "$venv/.complete"
  say "installed in $((SECONDS - started)) s"
fi
echo "$venv/bin/st"
