// The connection pool, how its failures are classified, and the start-up loop that waits for
// PostgreSQL (retrying with backoff, never crashing) and then applies the schema.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Repository } from './repository.js';

/**
 * PostgreSQL cannot be reached or cannot serve right now: the client gets 503 and may retry.
 * `retrySafe`: nothing was sent to the database, so the edge may send even a write to another
 * replica (x-mesh-retry-safe), as it does while a new replica is still preparing its schema.
 */
export class DatabaseUnavailableError extends Error {
  readonly retrySafe: boolean;
  constructor(
    message = 'the database is unavailable; try again in a few seconds',
    options?: { cause?: unknown; retrySafe?: boolean },
  ) {
    super(message, options);
    this.name = 'DatabaseUnavailableError';
    this.retrySafe = options?.retrySafe ?? false;
  }
}

// SQLSTATE classes and codes that mean "the server is not there or not able", not "your query
// is wrong": 08 connection exception, 53 insufficient resources, 57P01-57P03 shutting down or
// starting up, 57014 statement timeout (our own DB_STATEMENT_TIMEOUT_MS).
const UNAVAILABLE_SQLSTATE = /^(08|53)|^57P0[1-3]$|^57014$/;
// Without a SQLSTATE, only failures to reach or keep a connection count: socket errors from
// Node, and the messages pg and pg-pool give a connection that timed out or ended. Anything
// else (a TypeError, a bad query) is a bug: a 500 that the edge does not retry, never a 503.
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const CONNECTION_LOST =
  /^(Connection terminated|timeout exceeded when trying to connect|timeout expired|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable)/;

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERRNO.has(code)) return true; // before SQLSTATEs: EPIPE has 5 letters
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code))
    return UNAVAILABLE_SQLSTATE.test(code);
  return CONNECTION_LOST.test(err.message);
}

/** Runs a database call, turning "database unreachable" failures into DatabaseUnavailableError. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isUnavailable(err)) throw new DatabaseUnavailableError(undefined, { cause: err });
    throw err;
  }
}

export function createPool(config: Config, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    ...(config.databaseUrl ? { connectionString: config.databaseUrl } : {}),
    max: config.dbPoolMax,
    connectionTimeoutMillis: config.dbConnectTimeoutMs,
    statement_timeout: config.dbStatementTimeoutMs,
    idle_in_transaction_session_timeout: config.dbStatementTimeoutMs * 2,
    idleTimeoutMillis: 30_000,
    application_name: 'user-service',
  });
  // An idle client whose server went away emits 'error'; without a listener that kills the process.
  pool.on('error', (err) => log.warn({ err }, 'idle database connection lost'));
  return pool;
}

export interface DatabaseState {
  /** True once the schema is in place; until then data requests answer 503. */
  ready: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Applies the schema, retrying with exponential backoff (0.5 s doubling to 10 s) until it
 * succeeds or `signal` aborts. Logs every failed try. Never throws for an unreachable database.
 */
export async function prepareDatabase(
  repo: Repository,
  state: DatabaseState,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  let delay = 500;
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await guarded(() => repo.migrate());
      state.ready = true;
      log.info({ attempt }, 'database ready');
      return;
    } catch (err) {
      const retrying = err instanceof DatabaseUnavailableError;
      log[retrying ? 'warn' : 'error'](
        { attempt, retryInMs: delay, err: retrying ? err.cause : err },
        'database not ready; retrying',
      );
      await sleep(delay);
      delay = Math.min(delay * 2, 10_000);
    }
  }
}
