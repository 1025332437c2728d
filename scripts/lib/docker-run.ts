// The mesh in plain `docker run` commands, rendered from compose/docker-compose.yml: the same
// services, images, hardening, secrets, health checks, restart policies, networks and ports,
// spelled out as a bash script a reader can follow (scripts/docker-run.sh is this output, and a
// unit test keeps it equal, so the two cannot drift). Compose's `${VAR:-default}` is bash's
// own syntax: the script keeps every variable, resolved when it runs, from the environment or
// from .env as compose would. A key of the compose file this does not know is an error: a
// new key must be taught here, not silently dropped.
import { posix } from 'node:path';
import { parse } from 'yaml';

/** Containers, volumes and labels of this rendering: never compose's (project usermesh). */
const PREFIX = 'usermesh';
const VOLUME_PREFIX = 'usermesh-docker';
/** The label every container of the rendering carries, with its service's name. */
export const DOCKER_RUN_LABEL = 'mesh.docker-run';

interface Healthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

interface Service {
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  image?: string;
  profiles?: string[];
  scale?: number | string;
  init?: boolean;
  restart?: string;
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  mem_limit?: string;
  environment?: Record<string, string | number>;
  secrets?: string[];
  volumes?: string[];
  labels?: Record<string, string>;
  healthcheck?: Healthcheck;
  stop_grace_period?: string;
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  network_mode?: string;
  sysctls?: string[];
  ports?: string[];
  command?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
}

interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
  networks?: Record<string, { name?: string }>;
  volumes?: Record<string, unknown>;
}

const KNOWN = new Set([
  'build',
  'image',
  'profiles',
  'scale',
  'init',
  'restart',
  'cap_drop',
  'cap_add',
  'security_opt',
  'read_only',
  'tmpfs',
  'mem_limit',
  'environment',
  'secrets',
  'volumes',
  'labels',
  'healthcheck',
  'stop_grace_period',
  'networks',
  'network_mode',
  'sysctls',
  'ports',
  'command',
  'depends_on',
]);

/**
 * One word of bash: bare where it is plain, in double quotes where it holds a compose
 * variable (which bash then expands the same way), else in single quotes.
 */
export function word(value: string): string {
  if (/^[\w./:=@,+%-]+$/.test(value)) return value;
  if (value.includes('$')) {
    // Compose's $$ is a literal $; every other $ starts a variable, as in bash.
    const escaped = value
      .split('$$')
      .map((part) => part.replace(/(["`\\])/g, '\\$1'))
      .join('\\$');
    return `"${escaped}"`;
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A path of the compose file (relative to compose/) as the script names it. */
function hostPath(path: string): string {
  if (path.startsWith('/')) return path;
  const fromRoot = posix.normalize(`compose/${path}`);
  return fromRoot === '.' ? '$ROOT' : `$ROOT/${fromRoot.replace(/\/$/, '')}`;
}

const seconds = (duration: string): number => {
  const m = /^(\d+)(s|m)?$/.exec(duration);
  if (!m) throw new Error(`a duration compose wrote as "${duration}" is not N, Ns or Nm`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
};

const listOf = <T>(value: T[] | Record<string, unknown> | undefined): string[] =>
  Array.isArray(value) ? value.map(String) : Object.keys(value ?? {});

/** The services compose starts by default (no profile), each after what it needs. */
function startOrder(services: Record<string, Service>): string[] {
  const names = Object.keys(services).filter((n) => !services[n]!.profiles);
  const needs = (n: string): string[] => {
    const s = services[n]!;
    const joined = s.network_mode?.startsWith('service:') ? [s.network_mode.slice(8)] : [];
    return [...listOf(s.depends_on), ...joined];
  };
  const order: string[] = [];
  const visit = (n: string, path: string[]) => {
    if (order.includes(n)) return;
    if (path.includes(n)) throw new Error(`a cycle of dependencies: ${[...path, n].join(' -> ')}`);
    for (const m of needs(n)) visit(m, [...path, n]);
    order.push(n);
  };
  for (const n of names) visit(n, []);
  return order;
}

export const containerName = (service: string, scaled: boolean, i = 1) =>
  scaled ? `${PREFIX}-${service}-${i}` : `${PREFIX}-${service}`;

/** The `docker run` options of one service, one option (and its value) a line. */
function runOptions(name: string, s: Service, file: ComposeFile): string[][] {
  for (const key of Object.keys(s))
    if (!KNOWN.has(key))
      throw new Error(`compose service ${name}: key ${key} is not rendered to docker run yet`);
  const o: string[][] = [];
  const add = (...words: string[]) => o.push(words);
  add('--label', `${DOCKER_RUN_LABEL}=${name}`);
  for (const [k, v] of Object.entries(s.labels ?? {})) add('--label', `${k}=${v}`);
  if (s.init) add('--init');
  if (s.restart) add('--restart', s.restart);
  for (const c of s.cap_drop ?? []) add('--cap-drop', c);
  for (const c of s.cap_add ?? []) add('--cap-add', c);
  for (const opt of s.security_opt ?? []) add('--security-opt', opt);
  if (s.read_only) add('--read-only');
  for (const t of s.tmpfs ?? []) add('--tmpfs', t);
  if (s.mem_limit) add('--memory', s.mem_limit);
  if (s.stop_grace_period) add('--stop-timeout', String(seconds(s.stop_grace_period)));
  for (const sysctl of s.sysctls ?? []) add('--sysctl', sysctl);
  for (const [k, v] of Object.entries(s.environment ?? {})) add('-e', `${k}=${v}`);
  for (const secret of s.secrets ?? []) {
    const source = file.secrets?.[secret]?.file;
    if (!source) throw new Error(`compose service ${name}: secret ${secret} has no file`);
    // Compose (without Swarm) mounts a file secret read-only at /run/secrets/NAME.
    add('-v', `${hostPath(source)}:/run/secrets/${secret}:ro`);
  }
  for (const v of s.volumes ?? []) {
    const [source, ...rest] = v.split(':');
    const named = !source!.startsWith('.') && !source!.startsWith('/');
    add('-v', [named ? `${VOLUME_PREFIX}-${source}` : hostPath(source!), ...rest].join(':'));
  }
  const hc = s.healthcheck;
  if (hc) {
    const [kind, ...cmd] = hc.test;
    if (kind !== 'CMD' && kind !== 'CMD-SHELL')
      throw new Error(`compose service ${name}: healthcheck test ${kind} is not rendered`);
    add('--health-cmd', cmd.join(' '));
    if (hc.interval) add('--health-interval', hc.interval);
    if (hc.timeout) add('--health-timeout', hc.timeout);
    if (hc.retries !== undefined) add('--health-retries', String(hc.retries));
    if (hc.start_period) add('--health-start-period', hc.start_period);
  }
  if (s.network_mode) {
    const mode = s.network_mode;
    add(
      '--network',
      mode.startsWith('service:') ? `container:${containerName(mode.slice(8), false)}` : mode,
    );
  }
  const networks = Array.isArray(s.networks)
    ? Object.fromEntries(s.networks.map((n) => [n, null]))
    : (s.networks ?? {});
  for (const [net, options] of Object.entries(networks)) {
    add('--network', file.networks?.[net]?.name ?? net);
    // Compose gives every container its service's name on the network, and the aliases.
    for (const alias of [name, ...(options?.aliases ?? [])]) add('--network-alias', alias);
  }
  for (const p of s.ports ?? []) add('-p', p);
  return o;
}

const INDENT = '  ';

/** The bash lines that build one service's image, if it has a build. */
function buildLines(name: string, s: Service): string[] {
  if (!s.build) return [];
  const args = Object.entries(s.build.args ?? {}).map(
    ([k, v]) => `${INDENT}  --build-arg ${word(`${k}=${v}`)} \\`,
  );
  const dockerfile = s.build.dockerfile
    ? [`${INDENT}  -f ${word(hostPath(posix.join(s.build.context, s.build.dockerfile)))} \\`]
    : [];
  return [
    `${INDENT}echo "=== image ${s.image} (${name})"`,
    `${INDENT}docker build -q -t ${word(s.image!)} \\`,
    ...args,
    ...dockerfile,
    `${INDENT}  ${word(hostPath(s.build.context))} >/dev/null`,
  ];
}

/** The bash lines that start one service: a docker run per replica, and its wait. */
function startLines(name: string, s: Service, file: ComposeFile): string[] {
  const scaled = s.scale !== undefined;
  const options = runOptions(name, s, file).map((o) => `${INDENT}  ${o.map(word).join(' ')} \\`);
  const command = (s.command ?? []).map(word).join(' ');
  const image = word(s.image!) + (command ? ` ${command}` : '');
  const run = (nameWord: string, indent: string) => [
    `${indent}docker run -d --name ${nameWord} \\`,
    ...options.map((l) => indent.slice(INDENT.length) + l),
    `${indent}  ${image} >/dev/null`,
  ];
  const lines = [`${INDENT}echo "=== ${name}"`];
  if (!scaled) lines.push(...run(containerName(name, false), INDENT));
  else {
    // The replica count: up's argument for the user service, else the compose file's scale.
    const count = name === 'usersvc' ? '"$replicas"' : word(String(s.scale));
    lines.push(
      `${INDENT}for i in $(seq ${count}); do`,
      ...run(`"${PREFIX}-${name}-$i"`, `${INDENT}  `),
      `${INDENT}done`,
    );
  }
  return lines;
}

/** The lines waiting for the services others need healthy (depends_on: service_healthy). */
function healthyWaits(order: string[], services: Record<string, Service>, after: string): string[] {
  const waited = order.filter((n) => {
    const d = services[n]!.depends_on;
    return !Array.isArray(d) && d?.[after]?.condition === 'service_healthy';
  });
  if (waited.length === 0) return [];
  const s = services[after]!;
  const names = s.scale !== undefined ? `$(names_of ${after})` : containerName(after, false);
  return [`${INDENT}healthy ${names}   # ${waited.join(', ')} start(s) only once it is healthy`];
}

const HEADER = `#!/usr/bin/env bash
# GENERATED by \`meshctl docker-run print\` from compose/docker-compose.yml: do not edit, edit
# the compose file and run \`node bin/meshctl.js docker-run print > scripts/docker-run.sh\` (a
# unit test fails while the two differ).
#
# The mesh with plain docker commands: what compose does for us, spelled out. Every option
# below is a key of the compose file; every variable with its default is compose's, and bash
# reads it the same way: from the environment, or from .env (make up writes it) and
# .images.env (the offline kit's base images).
#   scripts/docker-run.sh up [N]   secrets, images, network, database, N replicas, two edges,
#                                  the CA's renewer and the keeper; then a read through HTTPS
#   scripts/docker-run.sh down     remove the containers and the network (the data stays in
#                                  the volume ${VOLUME_PREFIX}-pgdata)
# Same images, secrets/, network name and ports as the compose mesh: run one or the other.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
set -a
# shellcheck disable=SC1091
if [ -f .env ]; then . ./.env; fi
# shellcheck disable=SC1091
if [ -f .images.env ]; then . ./.images.env; fi
set +a
SERVICE_VERSION=$(node bin/meshctl.js version --short)
# The network-scope DNS names every container is given by compose, and its project's labels:
# this script's containers carry ${DOCKER_RUN_LABEL} instead, and never run beside compose's.
compose_running() { [ -n "$(docker ps -q --filter label=com.docker.compose.project=usermesh)" ]; }

# The names of a scaled service's containers, in order.
names_of() {
  docker ps -a --filter "label=${DOCKER_RUN_LABEL}=$1" --format '{{.Names}}' | sort -V
}

# Until each container's health check passes (compose's depends_on: service_healthy), 120 s.
healthy() {
  local deadline=$((SECONDS + 120)) c
  for c in "$@"; do
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$c")" = healthy ]; do
      if [ $SECONDS -ge $deadline ]; then
        echo "docker-run: $c is not healthy after 120 s: docker logs $c" >&2
        exit 1
      fi
      sleep 1
    done
  done
}
`;

const PROLOGUE = `
up() {
  local replicas=\${1:-\${USERSVC_REPLICAS:-1}}
  if compose_running; then
    echo "docker-run: the compose mesh runs on this engine (make down first): run one or the other" >&2
    exit 2
  fi
  if [ -n "$(docker ps -aq --filter label=${DOCKER_RUN_LABEL})" ]; then
    echo "docker-run: this mesh is here already (scripts/docker-run.sh down first; the data stays)" >&2
    exit 2
  fi
  # The base images (found, or the offline kit's stand-ins), then the install's CA, certificates,
  # passwords and token secret where missing, as make up makes them.
  scripts/base-images.sh
  # shellcheck disable=SC1091
  if [ -f .images.env ]; then set -a; . ./.images.env; set +a; fi
  node bin/meshctl.js secrets init
  # Behind a TLS-intercepting proxy, the image build's npm ci trusts CA_FILE (as make up does).
  local ca=\${CA_FILE:-\${NODE_EXTRA_CA_CERTS:-}}
  if [ -n "$ca" ]; then cp "$ca" .extra-ca.pem; fi
`;

const MIDDLE = `
  echo "=== network and volumes"
  docker network inspect appmesh >/dev/null 2>&1 || docker network create appmesh >/dev/null
  # The edge's live routes and clusters: written on the host, watched by Envoy. And where plain
  # HTTP is published: the host's loopback, unless EDGE_HTTP says redirect or public.
  node bin/meshctl.js edge-config
  EDGE_HTTP_PUBLISH=$(node bin/meshctl.js edge-config --publish)
`;

const EPILOGUE = `
  # Until the edge counts every replica healthy, then a read of the database through the
  # published HTTPS port, as a client makes it: 404 for a user that does not exist.
  node bin/meshctl.js wait "$replicas"
  local url="https://localhost:\${EDGE_HTTPS_PORT:-8443}/user/no-such-user" status=000
  local deadline=$((SECONDS + 60))
  until [ "$status" = 404 ]; do
    if [ $SECONDS -ge $deadline ]; then
      echo "docker-run: $url answered $status, not 404, for 60 s" >&2
      exit 1
    fi
    sleep 1
    status=$(curl -s -o /dev/null -w '%{http_code}' --cacert secrets/ca.pem "$url" || true)
  done
  echo "the mesh is up with plain docker ($replicas replica(s)): curl --cacert secrets/ca.pem https://localhost:\${EDGE_HTTPS_PORT:-8443}/user/health"
}

down() {
  local containers
  containers=$(docker ps -aq --filter label=${DOCKER_RUN_LABEL})
  if [ -n "$containers" ]; then
    # shellcheck disable=SC2086  # one id per word
    docker stop -t 20 $containers >/dev/null && docker rm $containers >/dev/null
  fi
  docker network rm appmesh >/dev/null 2>&1 || true
  docker volume rm ${VOLUME_PREFIX}-edge-slots >/dev/null 2>&1 || true
  echo "removed; the data stays in volume ${VOLUME_PREFIX}-pgdata (docker volume rm ${VOLUME_PREFIX}-pgdata)"
}

case "\${1:-}" in
  up) up "\${2:-}" ;;
  down) down ;;
  *) echo "usage: $0 up [N] | down" >&2; exit 2 ;;
esac
`;

/** The whole script, from the compose file's text. */
export function renderDockerRun(composeText: string): string {
  const file = parse(composeText, { merge: true }) as ComposeFile;
  const order = startOrder(file.services);
  const builds = order.flatMap((n) => buildLines(n, file.services[n]!));
  const starts = order.flatMap((n) => [
    '',
    ...startLines(n, file.services[n]!, file),
    ...healthyWaits(order, file.services, n),
  ]);
  return [HEADER + PROLOGUE, ...builds, MIDDLE.trimEnd(), ...starts, EPILOGUE]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}
