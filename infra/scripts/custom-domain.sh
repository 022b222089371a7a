#!/usr/bin/env bash
# Prints the Ingress that gives a store's verified custom domain its own
# certificate (cert-manager, ClusterIssuer letsencrypt-http01, HTTP-01
# through ingress-nginx) and the same routes as the stores Ingress:
#
#   infra/scripts/custom-domain.sh shop.merchant.example [namespace] | kubectl apply -f -
#   infra/scripts/custom-domain.sh --delete shop.merchant.example [namespace]   # when the domain is removed
#
# Run it once the control plane has verified the domain (its DNS points at
# the load balancer, so the challenge can be answered). Until the
# certificate is issued (about a minute) the name is served with the
# controller's default certificate; tenant-api resolves the Host either way.
set -euo pipefail

delete=false
if [[ ${1:-} == --delete ]]; then delete=true; shift; fi
domain=${1:?usage: custom-domain.sh [--delete] DOMAIN [NAMESPACE]}
namespace=${2:-commerce}
domain=${domain,,}
# A host name (RFC 1123), not a wildcard: HTTP-01 cannot prove wildcards.
if ! [[ $domain =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$ ]]; then
    echo "custom-domain.sh: '$domain' is not a host name" >&2
    exit 2
fi
# Object names: the domain with dots as dashes, cut to fit, plus a hash so
# two long domains sharing a prefix do not collide.
hash=$(printf '%s' "$domain" | sha256sum | cut -c1-8)
name="domain-$(printf '%s' "${domain//./-}" | cut -c1-40)-$hash"

if $delete; then
    exec kubectl -n "$namespace" delete ingress "$name" --ignore-not-found
fi

route() { # path type service
    cat <<ROUTE
          - path: $1
            pathType: $2
            backend:
              service:
                name: $3
                port:
                  name: http
ROUTE
}

cat <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: $name
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: commerce
    commerce/custom-domain: "true"
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-http01
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/proxy-body-size: 10m
    nginx.ingress.kubernetes.io/proxy-connect-timeout: "2"
    nginx.ingress.kubernetes.io/proxy-read-timeout: "60"
spec:
  ingressClassName: nginx
  tls:
    - hosts:
        - $domain
      secretName: $name-tls
  rules:
    - host: $domain
      http:
        paths:
$(route /metrics ImplementationSpecific not-public)
$(route /readyz ImplementationSpecific not-public)
$(route '/store/carts/[^/]+/checkout' ImplementationSpecific tenant-api)
$(route /store/products ImplementationSpecific tenant-api-catalog)
$(route /store/categories ImplementationSpecific tenant-api-catalog)
$(route /store/carts ImplementationSpecific tenant-api-cart)
$(route / ImplementationSpecific tenant-api)
YAML
