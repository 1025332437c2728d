#!/usr/bin/env bash
# A one-node Kubernetes cluster on this host, built from upstream sources, for the manifests
# in kubernetes/ and their test: etcd, kube-apiserver, -controller-manager, -scheduler,
# kube-proxy and the kubelet on a containerd of its own, CNI's bridge, CoreDNS in a Pod, and
# kube-router's firewall enforcing NetworkPolicy. Certificates from a CA made for the lab.
#   scripts/kubernetes-lab/lab.sh build   the binaries, once per version (.cache/kubernetes-lab/)
#   scripts/kubernetes-lab/lab.sh up      build if needed, start the cluster, wait until Ready
#   scripts/kubernetes-lab/lab.sh env     the variables that point kubectl at the lab
#   scripts/kubernetes-lab/lab.sh import IMAGE...   copy images of the host's engine into the lab
#   scripts/kubernetes-lab/lab.sh down    remove all of it (processes, pods, bridge, rules, data)
# Needs root, Go, gcc, openssl, Docker (to build two images), containerd, runc, the CNI plugins
# and ipset (Debian: apt-get install containerd runc containernetworking-plugins ipset).
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBERNETES=v1.37.2   # kube/go.mod requires it (and etcd v3.7.0)
COREDNS=v1.15.0
KUBE_ROUTER=v2.1.0   # kube-router/go.mod requires it, with newer dependencies
BIN=$PWD/.cache/kubernetes-lab/$KUBERNETES
LAB=/var/lib/kubelab   # everything the lab makes, but its bridge and rules, and these:
# paths the kubelet and the CNI library use whatever they are told; removed on down if up
# made them, else only the lab's entries in them.
HOST_PATHS="/var/lib/kubelet /var/lib/cni /var/log/containers"
BRIDGE=klab0
NODE=kubelab
NODE_IP=10.244.0.1     # the bridge's address: the node's, and the pods' gateway
API=https://$NODE_IP:26443
HERE=scripts/kubernetes-lab

# The kernel settings the kubelet and kube-proxy change, put back on down.
SYSCTLS="vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet
  net.bridge.bridge-nf-call-iptables"

log() { echo "kubernetes-lab: $*" >&2; }

# Polls "$@" once a second until it succeeds, for at most $1 seconds.
wait_for() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then log "$what: not within the deadline"; return 1; fi
    sleep 1
  done
}

build() {
  mkdir -p "$BIN"
  local started=$SECONDS
  # One build at a time: CI starts one early in the background (scripts/ci.sh), and the
  # test's own waits for it here, then finds the binaries made.
  exec 9>"$BIN/.build.lock"
  flock 9
  if [ ! -x "$BIN/kube" ]; then
    log "building kube $KUBERNETES (the components, kubectl and etcd in one binary; 8 to 10 min on 2 cores)"
    local version="-X k8s.io/component-base/version.gitVersion=$KUBERNETES"
    version+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"
    (cd "$HERE/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $version" -o "$BIN/kube.tmp" .)
    mv "$BIN/kube.tmp" "$BIN/kube"
  fi
  ln -sf kube "$BIN/kubectl"
  if [ ! -x "$BIN/coredns" ]; then
    log "building CoreDNS $COREDNS (static, for an image FROM scratch)"
    CGO_ENABLED=0 GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS"
  fi
  if [ ! -x "$BIN/kube-router" ]; then
    log "building kube-router $KUBE_ROUTER (its NetworkPolicy firewall)"
    (cd "$HERE/kube-router" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
      -o "$BIN/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  fi
  if [ ! -x "$BIN/pause" ]; then
    # The pause container's program, from the Kubernetes module's own source.
    local src; src=$(cd "$HERE/kube" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)
    gcc -Os -static -o "$BIN/pause" "$src/build/pause/linux/pause.c"
  fi
  exec 9>&-  # the lock goes with the build, not with the processes up starts
  log "binaries in ${BIN#"$PWD"/} ($((SECONDS - started)) s)"
}

# The lab's CA and one certificate: NAME, subject, extendedKeyUsage, optional subjectAltName.
issue() {
  local pki=$LAB/pki name=$1 subject=$2 usage=$3 names=${4:-}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
    -keyout "$pki/$name-key.pem" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "extendedKeyUsage=$usage"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$names" ]; then echo "subjectAltName=$names"; fi
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$pki/$name.ext" -out "$pki/$name.pem" 2>/dev/null
  rm "$pki/$name.csr" "$pki/$name.ext"
}

kubeconfig() {
  cat >"$LAB/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{ name: kubelab, cluster: { server: "$API", certificate-authority: "$LAB/pki/ca.pem" } }]
users: [{ name: $1, user: { client-certificate: "$LAB/pki/$1.pem", client-key: "$LAB/pki/$1-key.pem" } }]
contexts: [{ name: kubelab, context: { cluster: kubelab, user: $1, namespace: usermesh } }]
current-context: kubelab
EOF
}

certificates() {
  local pki=$LAB/pki
  mkdir -p "$pki" && chmod 700 "$pki"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=kubelab CA" -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" 2>/dev/null
  issue apiserver "/CN=kube-apiserver" serverAuth \
    "IP:$NODE_IP,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue apiserver-kubelet "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  issue admin "/O=system:masters/CN=kubelab-admin" clientAuth
  issue controller-manager "/CN=system:kube-controller-manager" clientAuth
  issue scheduler "/CN=system:kube-scheduler" clientAuth
  issue kubelet "/O=system:nodes/CN=system:node:$NODE" clientAuth
  issue kube-proxy "/CN=system:kube-proxy" clientAuth
  issue kube-router "/CN=kubelab:kube-router" clientAuth
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/sa-key.pem" 2>/dev/null
  openssl pkey -in "$pki/sa-key.pem" -pubout -out "$pki/sa.pem"
  for who in admin controller-manager scheduler kubelet kube-proxy kube-router; do kubeconfig "$who"; done
}

# Starts a component in the background: NAME, then the command. Its log is $LAB/log/NAME.log.
start() {
  local name=$1; shift
  nohup "$@" >"$LAB/log/$name.log" 2>&1 &
  echo $! >"$LAB/run/$name.pid"
}

none_running() {
  local pidfile
  for pidfile in "$LAB"/run/*.pid; do
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 1; fi
  done
}

stop() {
  if [ -f "$LAB/run/$1.pid" ]; then pkill -F "$LAB/run/$1.pid" 2>/dev/null || true; fi
}

render() {  # the lab's copy of a config file, with its paths
  sed -e "s|@LAB@|$LAB|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|@COREDNS@|$COREDNS|g" "$HERE/config/$1" >"$LAB/$1"
}

kubectl() { "$BIN/kube" kubectl --kubeconfig "$LAB/admin.kubeconfig" "$@"; }
ctr() { command ctr -a "$LAB/containerd/containerd.sock" -n k8s.io "$@"; }

# Images of the host's Docker engine into the lab's containerd, under the same names.
import() {
  docker save "$@" | ctr images import --no-unpack=false - >/dev/null
}

up() {
  if ip link show "$BRIDGE" >/dev/null 2>&1 || [ -e "$LAB" ]; then
    log "already up, or left over ($BRIDGE, $LAB): scripts/kubernetes-lab/lab.sh down removes it"
    return 1
  fi
  local need="Debian: apt-get install containerd runc containernetworking-plugins ipset gcc golang"
  for tool in containerd runc ipset openssl gcc go docker; do
    command -v "$tool" >/dev/null || { log "needs $tool ($need)"; return 1; }
  done
  [ -x /usr/lib/cni/bridge ] || { log "needs the CNI plugins ($need)"; return 1; }
  build
  local started=$SECONDS
  mkdir -p "$LAB"/{log,run,cni,volumes} && chmod 700 "$LAB"
  for path in $HOST_PATHS; do [ -e "$path" ] || echo "$path"; done >"$LAB/made-paths"
  install -d -o 999 -g 999 -m 700 "$LAB/volumes/postgres"  # the postgres image's user
  for key in $SYSCTLS; do echo "$key=$(sysctl -n "$key")"; done >"$LAB/sysctl.saved"
  certificates
  for f in containerd.toml kubelet.yaml 10-lab.conflist postgres-pv.yaml addons.yaml; do render "$f"; done
  mv "$LAB/10-lab.conflist" "$LAB/cni/"

  # The bridge before anything binds its address; Docker's FORWARD policy would drop the
  # traffic between pods (as in the swarm lab).
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  iptables -I DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  iptables -I DOCKER-USER -i "$BRIDGE" -j ACCEPT
  iptables -I DOCKER-USER -o "$BRIDGE" -j ACCEPT

  start etcd "$BIN/kube" etcd --data-dir "$LAB/etcd" --name kubelab \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster kubelab=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810
  start containerd containerd --config "$LAB/containerd.toml"
  wait_for 30 "etcd" curl -fsS http://127.0.0.1:23790/health
  local pki=$LAB/pki
  start kube-apiserver "$BIN/kube" kube-apiserver --etcd-servers http://127.0.0.1:23790 \
    --bind-address "$NODE_IP" --secure-port 26443 --advertise-address "$NODE_IP" \
    --service-cluster-ip-range 10.96.0.0/16 --authorization-mode Node,RBAC \
    --client-ca-file "$pki/ca.pem" --tls-cert-file "$pki/apiserver.pem" \
    --tls-private-key-file "$pki/apiserver-key.pem" \
    --kubelet-client-certificate "$pki/apiserver-kubelet.pem" \
    --kubelet-client-key "$pki/apiserver-kubelet-key.pem" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pem" --service-account-signing-key-file "$pki/sa-key.pem" \
    --kubelet-preferred-address-types InternalIP
  wait_for 60 "kube-apiserver" kubectl get --raw /readyz
  start kube-controller-manager "$BIN/kube" kube-controller-manager \
    --kubeconfig "$LAB/controller-manager.kubeconfig" --bind-address 127.0.0.1 --secure-port 20257 \
    --authentication-kubeconfig "$LAB/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$LAB/controller-manager.kubeconfig" \
    --use-service-account-credentials --service-account-private-key-file "$pki/sa-key.pem" \
    --root-ca-file "$pki/ca.pem" --leader-elect=false
  start kube-scheduler "$BIN/kube" kube-scheduler --kubeconfig "$LAB/scheduler.kubeconfig" \
    --authentication-kubeconfig "$LAB/scheduler.kubeconfig" \
    --authorization-kubeconfig "$LAB/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 20259 --leader-elect=false
  # NodePorts on the bridge and loopback only: nothing of the lab on the host's other addresses.
  start kube-proxy "$BIN/kube" kube-proxy --kubeconfig "$LAB/kube-proxy.kubeconfig" \
    --hostname-override "$NODE" --cluster-cidr 10.244.0.0/24 --proxy-mode iptables \
    --nodeport-addresses 10.244.0.0/24,127.0.0.0/8 --bind-address 127.0.0.1 --healthz-bind-address 127.0.0.1:20256 \
    --metrics-bind-address 127.0.0.1:20249 --conntrack-max-per-core 0 \
    --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0
  wait_for 30 "containerd" ctr version

  # The pause and CoreDNS images, built here from the binaries above.
  local context; context=$(mktemp -d)
  cp "$BIN/pause" "$BIN/coredns" "$context/"
  local name
  for name in pause coredns; do
    local tag=3.10; [ "$name" = coredns ] && tag=$COREDNS
    docker build -q -t "kubelab.local/$name:$tag" -f "$HERE/config/$name.Dockerfile" "$context" \
      >/dev/null 2>"$LAB/log/image-$name.log" || { cat "$LAB/log/image-$name.log" >&2; return 1; }
  done
  rm -r "$context"
  import kubelab.local/pause:3.10 "kubelab.local/coredns:$COREDNS"

  start kubelet "$BIN/kube" kubelet --config "$LAB/kubelet.yaml" \
    --kubeconfig "$LAB/kubelet.kubeconfig" --root-dir "$LAB/kubelet" \
    --hostname-override "$NODE" --node-ip "$NODE_IP"
  wait_for 60 "the node" kubectl wait --for=condition=Ready "node/$NODE" --timeout 1s
  kubectl apply -f "$LAB/addons.yaml" >/dev/null
  kubectl apply -f "$LAB/postgres-pv.yaml" >/dev/null

  # NetworkPolicy: kube-router's firewall alone (no routing, no service proxy), on the host.
  # kube-network-policies, what kind runs, needs nftables' queue, which this kernel lacks.
  sysctl -q net.bridge.bridge-nf-call-iptables=1
  start kube-router "$BIN/kube-router" --kubeconfig "$LAB/kube-router.kubeconfig" \
    --run-firewall=true --run-router=false --run-service-proxy=false \
    --hostname-override "$NODE" --health-port 0 --metrics-port 0
  wait_for 30 "kube-router's firewall" sh -c "iptables -S | grep -q KUBE-ROUTER-FORWARD"
  wait_for 90 "CoreDNS" kubectl -n kube-system wait --for=condition=Available deploy/coredns --timeout 1s
  log "up in $((SECONDS - started)) s: node $NODE ($NODE_IP), API $API"
  print_env
}

print_env() {
  echo "export KUBECONFIG=$LAB/admin.kubeconfig PATH=$BIN:\$PATH"
}

down() {
  if [ -d "$LAB/run" ]; then
    # The pods first, while the kubelet and containerd still run: their mounts and netns go.
    if [ -f "$LAB/run/kubelet.pid" ] && kubectl get --raw /readyz >/dev/null 2>&1; then
      kubectl delete namespace usermesh --ignore-not-found --wait=false >/dev/null 2>&1 || true
    fi
    for name in kube-router kubelet kube-proxy kube-scheduler kube-controller-manager \
      kube-apiserver etcd; do
      stop "$name"
    done
    if [ -S "$LAB/containerd/containerd.sock" ]; then
      for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s KILL "$task" >/dev/null 2>&1 || true; done
      sleep 1
      for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$task" >/dev/null 2>&1 || true; done
    fi
    stop containerd
    if ! wait_for 60 "the lab's processes to end" none_running; then
      for pidfile in "$LAB"/run/*.pid; do pkill -KILL -F "$pidfile" 2>/dev/null || true; done
      wait_for 10 "the lab's processes to be killed" none_running || true
    fi
  fi
  if [ -x "$BIN/kube" ]; then "$BIN/kube" kube-proxy --cleanup >/dev/null 2>&1 || true; fi
  # The rules kube-proxy and kube-network-policies leave, and the CNI's.
  for table in filter nat mangle; do
    for ipt in iptables ip6tables; do
      for chain in $($ipt -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-)/ {print $2}'); do
        $ipt -t "$table" -F "$chain" 2>/dev/null || true
      done
      { $ipt -t "$table" -S 2>/dev/null || true; } | { grep -E '^-A .*(KUBE-|CNI-)' || true; } |
        sed 's/^-A/-D/' | while read -r rule; do eval "$ipt -t $table $rule" 2>/dev/null || true; done
      for chain in $($ipt -t "$table" -S 2>/dev/null | awk '/^-N (KUBE-|CNI-)/ {print $2}'); do
        $ipt -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
  # kube-router's sets (each KUBE-*), once no rule uses them.
  ipset list -n 2>/dev/null | grep -E '^KUBE-' | xargs -r -n1 ipset destroy 2>/dev/null || true
  for rule in "-i $BRIDGE -o $BRIDGE" "-i $BRIDGE" "-o $BRIDGE"; do
    # shellcheck disable=SC2086
    while iptables -D DOCKER-USER $rule -j ACCEPT 2>/dev/null; do :; done
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/ {print $1}'); do ip netns del "$ns"; done
  # The cgroups the kubelet made for pods, innermost first.
  find /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods* -depth -type d -exec rmdir {} + 2>/dev/null || true
  if [ -f "$LAB/sysctl.saved" ]; then sysctl -q -p "$LAB/sysctl.saved" || true; fi
  if [ -d "$LAB" ]; then
    find /var/log/containers -maxdepth 1 -lname "$LAB/*" -delete 2>/dev/null || true
    rm -f /var/lib/cni/results/kubelab-*
    if [ -f "$LAB/made-paths" ]; then xargs -r rm -rf <"$LAB/made-paths"; fi
    # The kubelet's volume mounts (tmpfs, configmaps, secrets) and containerd's, innermost first.
    awk -v lab="$LAB" '$2 ~ "^"lab {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
    rm -rf "$LAB"
  fi
  docker rmi -f kubelab.local/pause:3.10 "kubelab.local/coredns:$COREDNS" >/dev/null 2>&1 || true
  log "down: processes, pods, bridge, rules and $LAB removed (binaries kept in ${BIN#"$PWD"/})"
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  env) print_env ;;
  import) shift; import "$@" ;;
  down) down ;;
  *) sed -n '2,11p' "$0" >&2; exit 2 ;;
esac
