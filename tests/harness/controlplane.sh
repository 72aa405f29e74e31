#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, built from Go modules.
#
#   controlplane.sh build        build every binary once into the cache (idempotent)
#   controlplane.sh up [DIR]     start etcd, kube-apiserver, controller-manager, scheduler,
#                                kwok (with labelled nodes) and metrics-server; prints
#                                `export KUBECONFIG=...`
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

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ECSPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ecsplane}/control-plane
K8S_BIN=$CACHE_ROOT/kubernetes-$K8S_VERSION
ETCD_BIN=$CACHE_ROOT/etcd-$ETCD_VERSION
KWOK_BIN=$CACHE_ROOT/kwok-$KWOK_VERSION
METRICS_BIN=$CACHE_ROOT/metrics-server-$METRICS_SERVER_VERSION
GATEWAY_DIR=$CACHE_ROOT/gateway-api-$GATEWAY_API_VERSION
HELM_BIN=$CACHE_ROOT/helm-$HELM_VERSION

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

cmd_build() {
  local total=$SECONDS
  build_component "kubernetes $K8S_VERSION (apiserver, controller-manager, scheduler, kubectl)" "$K8S_BIN" build_kubernetes
  build_component "etcd $ETCD_VERSION" "$ETCD_BIN" build_etcd
  build_component "kwok $KWOK_VERSION" "$KWOK_BIN" build_kwok
  build_component "metrics-server $METRICS_SERVER_VERSION" "$METRICS_BIN" build_metrics_server
  build_component "gateway-api CRDs $GATEWAY_API_VERSION" "$GATEWAY_DIR" build_gateway_api
  build_component "helm $HELM_VERSION" "$HELM_BIN" build_helm
  log "all components ready ($((SECONDS - total)) s)"
}

cmd_paths() {
  echo "KUBERNETES_BIN=$K8S_BIN"
  echo "ETCD_BIN=$ETCD_BIN"
  echo "KWOK_BIN=$KWOK_BIN"
  echo "METRICS_SERVER_BIN=$METRICS_BIN"
  echo "GATEWAY_API_CRDS=$GATEWAY_DIR/standard-crds.yaml"
  echo "HELM_BIN=$HELM_BIN"
}

# ---------------------------------------------------------------------------
# up / down / env
# ---------------------------------------------------------------------------

# Present in every state dir made by `up`; `down` removes only dirs carrying it.
MARKER=.ecsplane-controlplane
# Start order; `down` stops in the reverse.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler metrics-server kwok)
NODE_COUNT=4
UP_TIMEOUT=${ECSPLANE_UP_TIMEOUT:-90}

# kubectl against the state dir only: never the ambient ~/.kube/config or its cache.
kc() { "$K8S_BIN/kubectl" --kubeconfig "$STATE/kubeconfig" --cache-dir "$STATE/kube-cache" "$@"; }

# Distinct free loopback ports, chosen at random below the ephemeral range
# (32768+) so a client's outgoing connection cannot grab one before our server
# binds it, and two concurrent `up`s are unlikely to pick the same ones.
pick_ports() {
  python3 - "$1" <<'PY'
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
  "$@" < /dev/null > "$STATE/logs/$name.log" 2>&1 &
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

nodes_ready() {
  local out
  out=$(kc get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}:{.spec.taints}{"\n"}{end}') || return 1
  # Ready, and the node-lifecycle controller has lifted its not-ready taint,
  # so a pod created right after `up` is scheduled at once.
  [[ $(grep -c '=True:$' <<<"$out") -eq $NODE_COUNT ]]
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
  local t0=$SECONDS
  cmd_build
  if [[ -n ${1:-} ]]; then
    STATE=$1
    [[ ! -e $STATE || -z $(ls -A "$STATE") ]] || die "$STATE exists and is not empty (if an earlier \`up\` left it, run \`$0 down $STATE\`)"
    mkdir -p "$STATE"
  else
    STATE=$(mktemp -d /tmp/ecsplane-cp.XXXX)
  fi
  STATE=$(cd "$STATE" && pwd -P)
  touch "$STATE/$MARKER"
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/bin" "$STATE/etcd" "$STATE/metrics-server"
  # A wrapper, not a symlink: pinned to this cluster and its own discovery
  # cache, so it never reads or writes ~/.kube.
  cat > "$STATE/bin/kubectl" <<SH
#!/bin/sh
export KUBECONFIG="$STATE/kubeconfig" KUBECACHEDIR="$STATE/kube-cache"
exec "$K8S_BIN/kubectl" "\$@"
SH
  chmod +x "$STATE/bin/kubectl"
  trap on_up_exit EXIT
  trap 'exit 130' INT TERM
  log "state dir: $STATE"

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
    --proxy-client-key-file "$pki/front-proxy-client.key"
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
  start kwok "$KWOK_BIN/kwok" \
    -c "$KWOK_BIN/kwok-config.yaml" --kubeconfig "$kubeconfig" \
    --node-lease-duration-seconds 40 \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --node-port="$KWOK_PORT" --server-address="127.0.0.1:$KWOK_PORT" \
    --cidr=10.0.0.1/24

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
  paths) cmd_paths ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) shift; cmd_env "$@" ;;
  restart-apiserver) shift; cmd_restart_apiserver "$@" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
