// The mesh's settings, in .env at the repository root: every variable compose reads when it
// resolves compose/docker-compose.yml. make up, make scale and make canary write it with what
// they ran, so that compose's own commands, run by hand from the repository root, resolve the
// very configuration make created (nothing to recreate) and the declared replica count.
// make reads it back as the defaults of the next run: a setting given to make
// (LOG_LEVEL=warn make up) wins and is kept; an empty one returns to the compose file's default.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { ROOT } from './paths.js';

export const ENV_FILE = `${ROOT}.env`;

export const PROJECT_NAME = 'usermesh';
export const MAIN_FILE = 'compose/docker-compose.yml';
/** make dev's replicas run this checkout's sources (compose/dev.yml). */
export const DEV_FILES = `${MAIN_FILE}:compose/dev.yml`;

/**
 * The user service's own settings, as every target passes them to it: compose and plain
 * docker (from compose's file), the swarm's stack, Kubernetes' Deployment; a canary may change
 * them, and promote carries them over. The service validates each (user-service/src/config.ts);
 * a unit test keeps every target's file naming exactly these (scripts/lib/test/settings.test.ts).
 */
export const SERVICE_SETTINGS = [
  'LOG_LEVEL',
  'SCRYPT_COST',
  'SCRYPT_CONCURRENCY',
  'SCRYPT_QUEUE',
  'LOGIN_FAILURES_ALLOWED',
  'LOGIN_ACCOUNT_FAILURES_ALLOWED',
  'LOGIN_WAIT_SECONDS',
  'LOGIN_WAIT_MAX_SECONDS',
] as const;

/**
 * The sidecar's, beside the service in the same container (compose, plain docker, the swarm)
 * or in a container of its own (Kubernetes); its entrypoint validates each
 * (user-service/entrypoint.sh). make up derives SIDECAR_TRACING from EDGE_TRACE_PERCENT.
 */
export const SIDECAR_SETTINGS = ['SIDECAR_TRACING'] as const;

/**
 * The edge's own settings, as every target passes them to its container: compose and plain
 * docker, the swarm's stack, Kubernetes' Deployment (the same unit test keeps them so). The
 * edge validates each (envoy/render-edge.sh).
 */
export const EDGE_SETTINGS = ['EDGE_TRACE_PERCENT', 'EDGE_TRUSTED_CIDRS', 'EDGE_WORKERS'] as const;

/**
 * Every variable the compose files read, compose's own two, and the edge's settings meshctl
 * reads for itself (EDGE_HTTP, EDGE_TLS_*); nothing else goes in .env.
 */
export const KEYS = [
  'COMPOSE_FILE',
  'COMPOSE_PROJECT_NAME',
  // how many replicas (make up N=, make scale N=; make canary CANARY_N=)
  'USERSVC_REPLICAS',
  'CANARY_REPLICAS',
  // the service's settings
  ...SERVICE_SETTINGS,
  ...SIDECAR_SETTINGS,
  'CERT_DAYS',
  // the edge's and the observability profile's
  'EDGE_LOG_LEVEL',
  ...EDGE_SETTINGS,
  'EDGE_CONNECTIONS_PER_CLIENT',
  'EDGE_PORT',
  'EDGE_HTTPS_PORT',
  'EDGE_ADMIN_PORT',
  // HTTPS and plain HTTP (EDGE_HTTP: local, redirect, public; make up derives where compose
  // publishes the plain port from it and EDGE_PORT)
  'EDGE_HTTP',
  'EDGE_HTTP_PUBLISH',
  'EDGE_HOSTNAMES',
  'EDGE_TLS_CERT_FILE',
  'EDGE_TLS_KEY_FILE',
  'PROMETHEUS_PORT',
  'ZIPKIN_PORT',
  // what make built: base images (the offline kit's, or yours), the service's version
  'NODE_IMAGE',
  'ENVOY_IMAGE',
  'POSTGRES_IMAGE',
  'DEBIAN_IMAGE',
  'PROMETHEUS_IMAGE',
  'ZIPKIN_IMAGE',
  'SERVICE_VERSION',
  // which revision each set of containers was made from (scripts/rollout/rollout.ts)
  'USERSVC_REVISION',
  'EDGE_REVISION',
  // which token keys they read (secrets/jwks.json's digest; lib/secrets.ts)
  'TOKEN_KEYS_VERSION',
  'CANARY_REVISION',
  // make dev's sources
  'DEV_SOURCES',
] as const;
export type Key = (typeof KEYS)[number];

export type Settings = Partial<Record<Key, string>>;

const HEADER = `# The mesh's settings: what compose reads when it resolves ${MAIN_FILE}.
# Written by make up, make scale and make canary with what they ran, so that compose's own
# commands run by hand from here (docker compose up -d --scale usersvc=4) change nothing else.
# make reads it back: give a setting to make to change it (LOG_LEVEL=warn make up), or edit it
# here and run make up; an empty value is the compose file's default. make clean removes it.
`;

/** Settings an older .env may hold, and what replaced each (CHANGELOG.md). */
const REPLACED: Record<string, string> = {
  EDGE_TRUSTED_HOPS:
    'name the networks of the proxies in front of the edge in EDGE_TRUSTED_CIDRS, or remove the line (docs/public-edge.md)',
};

/** KEY=value lines; comments and blank lines skipped. An unknown key or a malformed line is refused. */
export function parseEnvFile(text: string): Settings {
  const out: Settings = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new UsageError(`.env line ${i + 1} is not KEY=value: ${line.slice(0, 60)}`);
    const replaced = REPLACED[m[1]!];
    if (replaced) throw new UsageError(`.env line ${i + 1}: ${m[1]} is gone: ${replaced}`);
    if (!(KEYS as readonly string[]).includes(m[1]!))
      throw new UsageError(
        `.env line ${i + 1}: ${m[1]} is not a setting of the mesh (compose/docker-compose.yml)`,
      );
    out[m[1] as Key] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  });
  return out;
}

export function renderEnvFile(settings: Settings): string {
  const lines = KEYS.filter((k) => settings[k] !== undefined).map((k) => {
    const value = settings[k]!;
    if (/[\n"'#\s]/.test(value))
      throw new UsageError(`${k} may not contain spaces, quotes, # or newlines, got "${value}"`);
    return `${k}=${value}`;
  });
  return `${HEADER}${lines.join('\n')}\n`;
}

/**
 * The settings of this run: .env's, then any the environment sets (an empty value included:
 * it returns the setting to its default). The project and file are always there.
 */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const file = existsSync(ENV_FILE) ? parseEnvFile(readFileSync(ENV_FILE, 'utf8')) : {};
  const settings: Settings = {
    COMPOSE_FILE: MAIN_FILE,
    COMPOSE_PROJECT_NAME: PROJECT_NAME,
    ...file,
  };
  for (const key of KEYS) if (env[key] !== undefined) settings[key] = env[key];
  return settings;
}

/** Puts the settings into this process's environment: every compose call from here uses them. */
export function useSettings(settings: Settings): void {
  for (const key of KEYS) if (settings[key] !== undefined) process.env[key] = settings[key];
}

/** Writes .env whole (written beside it, then renamed over it). Empty values are left out. */
export function saveSettings(settings: Settings): void {
  const kept = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== '')) as Settings;
  writeFileSync(`${ENV_FILE}.tmp`, renderEnvFile(kept), { mode: 0o644 });
  renameSync(`${ENV_FILE}.tmp`, ENV_FILE);
}

export function removeSettings(): void {
  rmSync(ENV_FILE, { force: true });
}
