// Configuration: read from the environment once, at start-up, and validated there.
// An invalid value stops the process with one message naming the variable (see server.ts).
// Secrets come from files (TOKEN_KEY_FILE, DATABASE_PASSWORD_FILE: compose secrets).
// Every variable and its default is documented in docs/reference/configuration.md (a test keeps it so).
import { readFileSync } from 'node:fs';
import { defaultHashConcurrency } from './hash-sizing.js';
import { loadTokenKeys, MAX_TTL_SECONDS, TokenKeyError, type TokenKeys } from './tokens.js';

export interface Config {
  host: string;
  port: number;
  /** Undefined: pg reads the standard PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE. */
  databaseUrl: string | undefined;
  dbPoolMax: number;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  logLevel: string;
  /** The key tokens are signed with and the public keys they are checked against (tokens.ts). */
  tokenKeys: TokenKeys;
  tokenTtlSeconds: number;
  /** log2 of scrypt's N; OWASP's recommendation is 17 (N = 131072, r = 8, p = 1). */
  scryptCost: number;
  /** Password hashes run at once; the default fits the container's memory (hash-limit.ts). */
  scryptConcurrency: number;
  /** Hashes that may wait for a slot; past that, 503 with Retry-After. */
  scryptQueue: number;
  /** Failed logins an account is allowed from one client network before it waits there (login-throttle.ts). */
  loginFailuresAllowed: number;
  /** ... and from every network together, before it waits for all (the backstop). */
  loginAccountFailuresAllowed: number;
  /** The first wait, in seconds; each failure after it doubles the wait, up to the most. */
  loginWaitSeconds: number;
  loginWaitMaxSeconds: number;
  shutdownTimeoutMs: number;
  /**
   * After SIGTERM, how long keep-alive connections stay open for their client to close them
   * (every answer then says Connection: close) before we close the idle ones ourselves.
   */
  shutdownIdleGraceMs: number;
  /** Listen with SO_REUSEPORT, so a new process can listen beside this one (make dev's reload). */
  reusePort: boolean;
  /** What this replica runs (the image's build sets SERVICE_VERSION); in every answer and log line. */
  version: string;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** NAME's value, or the content of the file NAME_FILE names (trailing newline trimmed). */
function secret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`]?.trim();
  if (!file) return env[name];
  if (env[name] !== undefined)
    throw new ConfigError(name, `and ${name}_FILE are both set: set one of them`);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(
      `${name}_FILE`,
      `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): ${file}`,
    );
  }
}

/** A file's content, the variable naming it in the error when it cannot be read. */
function file(env: Env, name: string): string {
  const path = env[name]?.trim();
  if (!path) throw new ConfigError(name, 'must name a file (make up creates them in secrets/)');
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      name,
      `names a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): ${path}`,
    );
  }
}

/** The token signing key and the published keys; an HS256 secret of earlier versions is refused. */
function loadKeys(env: Env): TokenKeys {
  for (const gone of ['TOKEN_SECRET', 'TOKEN_SECRET_FILE'])
    if (env[gone] !== undefined)
      throw new ConfigError(
        gone,
        'is no longer read: tokens are ES256, signed with TOKEN_KEY_FILE and checked with TOKEN_JWKS_FILE (make up creates both)',
      );
  const key = file(env, 'TOKEN_KEY_FILE');
  const jwks = file(env, 'TOKEN_JWKS_FILE');
  try {
    return loadTokenKeys(key, jwks);
  } catch (err) {
    if (!(err instanceof TokenKeyError)) throw err;
    throw new ConfigError(err.input === 'key' ? 'TOKEN_KEY_FILE' : 'TOKEN_JWKS_FILE', err.message);
  }
}

function flag(env: Env, name: string): boolean {
  const raw = text(env, name, '0');
  if (raw !== '0' && raw !== '1') throw new ConfigError(name, `must be 0 or 1, got "${raw}"`);
  return raw === '1';
}

function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = text(env, 'LOG_LEVEL', 'info');
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);

  const tokenKeys = loadKeys(env);

  let databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  const databasePassword = secret(env, 'DATABASE_PASSWORD');
  if (databasePassword !== undefined) {
    if (databaseUrl === undefined)
      throw new ConfigError(
        'DATABASE_PASSWORD',
        'needs DATABASE_URL (without a password) to go with it',
      );
    if (databasePassword === '')
      throw new ConfigError(
        env.DATABASE_PASSWORD_FILE ? 'DATABASE_PASSWORD_FILE' : 'DATABASE_PASSWORD',
        'is empty',
      );
    const url = new URL(databaseUrl);
    url.password = encodeURIComponent(databasePassword);
    databaseUrl = url.toString();
  }

  const version = text(env, 'SERVICE_VERSION', 'dev');
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(version)) {
    throw new ConfigError(
      'SERVICE_VERSION',
      `must be 1 to 64 of A-Z a-z 0-9 . _ + - (a git commit, say), got "${version}"`,
    );
  }

  const scryptCost = integer(env, 'SCRYPT_COST', 17, 10, 20);
  const scryptConcurrency = integer(
    env,
    'SCRYPT_CONCURRENCY',
    defaultHashConcurrency(scryptCost),
    1,
    64,
  );

  return {
    host: text(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 5000, 0, 65535),
    databaseUrl,
    dbPoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 1000),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 3000, 100, 600_000),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    logLevel,
    tokenKeys,
    tokenTtlSeconds: integer(env, 'TOKEN_TTL_SECONDS', 900, 1, MAX_TTL_SECONDS),
    scryptCost,
    scryptConcurrency,
    scryptQueue: integer(env, 'SCRYPT_QUEUE', 4 * scryptConcurrency, 0, 10_000),
    loginFailuresAllowed: integer(env, 'LOGIN_FAILURES_ALLOWED', 5, 1, 100),
    loginAccountFailuresAllowed: integer(env, 'LOGIN_ACCOUNT_FAILURES_ALLOWED', 50, 1, 10_000),
    loginWaitSeconds: integer(env, 'LOGIN_WAIT_SECONDS', 1, 1, 3600),
    loginWaitMaxSeconds: integer(env, 'LOGIN_WAIT_MAX_SECONDS', 900, 1, 86_400),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    shutdownIdleGraceMs: integer(env, 'SHUTDOWN_IDLE_GRACE_MS', 0, 0, 60_000),
    reusePort: flag(env, 'REUSE_PORT'),
    version,
  };
}
