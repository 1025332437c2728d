#!/usr/bin/env bash
# The mesh's CA and per-install secrets, in the directory mounted at /secrets (the repository's
# git-ignored secrets/). Each service gets a directory of its own, owned by the user its
# processes run as, every file mode 0600:
#   ca/                     the CA: ca.pem, ca.key (put your own there before the first init)
#   edge/                   ca.pem cert.pem key.pem                       (uid 101, envoy)
#   usersvc/                ca.pem cert.pem key.pem token_secret db_password   (uid 1000, node)
#   postgres/               ca.pem cert.pem key.pem superuser_password usersvc_password (uid 999)
#   prometheus/             ca.pem cert.pem key.pem     (uid 65534: the observability profile)
#   observe/                ca.pem cert.pem key.pem     (uid 101: its proxy, envoy/observe.yaml)
# A certificate names its service as spiffe://appmesh/<service> (a URI SAN, what the proxies'
# RBAC checks) and as the DNS name <service> (what Prometheus, a Go TLS client, checks). Commands:
#   init                   create whatever is missing; renew certificates past half their life
#   renew                  renew certificates past half their life
#   renew-loop             renew, then again every RENEW_EVERY seconds (3600): the compose service
#   rotate                 issue every service a new certificate now
#   static [DAYS]          long-lived certificates (Swarm, Kubernetes) in static/, where missing or due
#   new-ca DIR, issue NAME DIR [DAYS] [CA_DIR]   a CA, one certificate, anywhere (for tests)
set -euo pipefail
umask 077

S=${MESH_CA_DIR:-/secrets}  # where the install's secrets/ is mounted
CERT_DAYS=${CERT_DAYS:-1}
CA_DAYS=${CA_DAYS:-3650}
declare -A OWNER=([edge]=101 [usersvc]=1000 [postgres]=999 [prometheus]=65534 [observe]=101)

# new_ca DIR: a CA key and self-signed certificate in DIR.
new_ca() {
  mkdir -p "$1"
  openssl ecparam -name prime256v1 -genkey -noout -out "$1/ca.key"
  openssl req -x509 -new -key "$1/ca.key" -days "$CA_DAYS" -subj "/O=appmesh/CN=appmesh mesh CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$1/ca.pem" 2>/dev/null
  echo "mesh-ca: created a CA valid for $CA_DAYS days in ${1#"$S"/}"
}

# issue NAME DIR [DAYS] [CA_DIR]: key.pem, cert.pem (spiffe://appmesh/NAME, DNS:NAME) and ca.pem into DIR.
issue() {
  local name=$1 dir=$2 days=${3:-$CERT_DAYS} ca=${4:-$S/ca}
  mkdir -p "$dir"
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/key.pem"
  openssl req -new -key "$dir/key.pem" -subj "/O=appmesh/CN=$name" -out "$dir/req.csr"
  printf '%s\n' "subjectAltName=URI:spiffe://appmesh/$name,DNS:$name" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" > "$dir/ext.cnf"
  openssl x509 -req -in "$dir/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca.key" -days "$days" \
    -set_serial "0x$(openssl rand -hex 16)" -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
  cp "$ca/ca.pem" "$dir/ca.pem"
  rm "$dir/req.csr" "$dir/ext.cnf"
}

# install NAME: a new certificate in a fresh directory, then one atomic rename of the ..data
# link. The proxies watch the directory (SDS watched_directory) and reload on that rename.
install() {
  # One writer at a time: make rotate-certs and the renewer may meet.
  exec 9>"$S/.lock"
  flock 9
  local name=$1 dir=$S/$1 new
  new=..$(date -u +%Y%m%dT%H%M%S%N)
  mkdir -p "$dir"
  issue "$name" "$dir/$new"
  for f in ca.pem cert.pem key.pem; do ln -sfn "..data/$f" "$dir/$f"; done
  chown -R "${OWNER[$name]}:${OWNER[$name]}" "$dir"
  chmod 700 "$dir" "$dir/$new"
  ln -sfn "$new" "$dir/..data.tmp"
  mv -Tf "$dir/..data.tmp" "$dir/..data"
  find "$dir" -maxdepth 1 -name '..2*' ! -name "$new" -exec rm -rf {} +
  echo "mesh-ca: $name: certificate $(openssl x509 -in "$dir/cert.pem" -noout -serial -enddate | tr '\n' ' ')"
  exec 9>&-
}

# secret SERVICE FILE [VALUE]: a random secret (or VALUE) in FILE of SERVICE, unless it exists.
secret() {
  local file=$S/$1/$2
  [ -s "$file" ] && return
  mkdir -p "$S/$1"
  printf '%s' "${3:-$(openssl rand -hex 32)}" > "$file"
  chown "${OWNER[$1]}:${OWNER[$1]}" "$file"
  echo "mesh-ca: generated $1/$2"
}

# Due for a new certificate: none yet, less than RENEW_BEFORE seconds left (half its life), or
# one from before certificates carried their DNS name.
due() {
  ! openssl x509 -in "$S/$1/cert.pem" -noout -checkend "${RENEW_BEFORE:-$((CERT_DAYS * 86400 / 2))}" >/dev/null 2>&1 ||
    ! openssl x509 -in "$S/$1/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$1\b"
}

renew() {
  for name in "${!OWNER[@]}"; do if due "$name"; then install "$name"; fi; done
}

case "${1:-init}" in
  init)
    chmod 700 "$S"
    [ -s "$S/ca/ca.key" ] || new_ca "$S/ca"
    secret usersvc token_secret
    secret usersvc db_password
    secret postgres usersvc_password "$(cat "$S/usersvc/db_password")"
    secret postgres superuser_password
    renew ;;
  renew)
    renew ;;
  renew-loop)
    trap 'exit 0' TERM INT
    while true; do
      renew
      sleep "${RENEW_EVERY:-3600}" & wait $!
    done ;;
  static)
    # Certificates for platforms that hold them as secrets of their own, in static/<service>/:
    # a Swarm secret never changes, a Kubernetes Secret changes when applied again. So they
    # live longer (DAYS, default 30), and meshctl swarm up and kubernetes secrets replace
    # those past half their life, or from another CA.
    days=${2:-30}
    for name in "${!OWNER[@]}"; do
      dir=$S/static/$name
      if ! cmp -s "$S/ca/ca.pem" "$dir/ca.pem" ||
         ! openssl x509 -in "$dir/cert.pem" -noout -checkend $((days * 86400 / 2)) >/dev/null 2>&1; then
        issue "$name" "$dir" "$days"
        echo "mesh-ca: static/$name: certificate $(openssl x509 -in "$dir/cert.pem" -noout -enddate)"
      fi
    done ;;
  rotate)
    for name in "${!OWNER[@]}"; do install "$name"; done ;;
  new-ca)
    new_ca "${2:?directory}" ;;
  issue)
    issue "${2:?name}" "${3:?directory}" "${4:-$CERT_DAYS}" "${5:-$S/ca}" ;;
  *)
    echo "usage: mesh-ca init | renew | renew-loop | rotate | static [DAYS] | new-ca DIR | issue NAME DIR [DAYS] [CA_DIR]" >&2; exit 2 ;;
esac
