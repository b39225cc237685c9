# Sourced by scripts/deploy-check and scripts/deploy (bash): installs the CDK app's tools.
#   cdk_venv   deploy/.venv       (REGENZET_DEPLOY_VENV)  deploy/requirements.txt
#   scan_venv  deploy/.venv-scan  (REGENZET_SCAN_VENV)    deploy/requirements-scan.txt
#   Node 22 and the CDK CLI in deploy/node_modules (deploy/package.json, package-lock.json);
#   jsii warns on Node 20, which is end-of-life, and the npm registry has Node 22.
# After install_deploy_tools, $cdk_venv and $scan_venv are absolute and node/cdk are on PATH.

_deploy_venv() {  # _deploy_venv DIR REQUIREMENTS
  [ -x "$1/bin/python" ] || "${PYTHON:-python3}" -m venv "$1"
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check -r "$2"
}

install_deploy_tools() {  # install_deploy_tools [scan]
  cdk_venv="${REGENZET_DEPLOY_VENV:-deploy/.venv}"
  _deploy_venv "$cdk_venv" deploy/requirements.txt
  cdk_venv="$(cd "$cdk_venv" && pwd)"
  if [ "${1:-}" = scan ]; then
    scan_venv="${REGENZET_SCAN_VENV:-deploy/.venv-scan}"
    _deploy_venv "$scan_venv" deploy/requirements-scan.txt
    scan_venv="$(cd "$scan_venv" && pwd)"
  fi
  local node_bin=deploy/node_modules/.bin wanted
  wanted="v$(sed -n 's/.*"node": "\([0-9.]*\)".*/\1/p' deploy/package.json)"
  if [ ! -x "$node_bin/cdk" ] || [ "$("$node_bin/node" --version 2>/dev/null)" != "$wanted" ]; then
    npm ci --prefix deploy --no-audit --no-fund --silent
  fi
  PATH="$(cd "$node_bin" && pwd):$PATH"
  export PATH
}
