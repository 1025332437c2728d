// Test helpers. Every test file gets a PostgreSQL database of its own, created from the
// standard PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD) and dropped afterwards.
// Nothing here stands in for PostgreSQL: when it cannot be reached, the tests fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { DatabaseState } from '../src/database.js';
import { createLogger } from '../src/logger.js';
import type { Repository } from '../src/repository.js';
import { buildService } from '../src/service.js';
import { loadTokenKeys, newTokenKeys } from '../src/tokens.js';

/**
 * A token key made anew for each test process (no secret is written in the repository), in
 * files as an install has them: TOKEN_ENV names them; TOKEN_KEYS is what the service loads.
 */
const tokenDir = mkdtempSync(join(tmpdir(), 'usersvc-test-keys-'));
const made = newTokenKeys();
writeFileSync(join(tokenDir, 'key.pem'), made.pem, { mode: 0o600 });
writeFileSync(join(tokenDir, 'jwks.json'), made.jwks);
export const TOKEN_ENV = {
  TOKEN_KEY_FILE: join(tokenDir, 'key.pem'),
  TOKEN_JWKS_FILE: join(tokenDir, 'jwks.json'),
};
export const TOKEN_KEYS = loadTokenKeys(made.pem, made.jwks);
/** The version the test service reports (an image's build sets SERVICE_VERSION). */
export const TEST_VERSION = 'test-1.2.3';
/** scrypt N = 2^10 keeps the suite fast; production uses 2^17. */
export const SCRYPT_COST = 10;

const env = process.env;
const pgHost = env.PGHOST ?? 'localhost';
const pgPort = Number(env.PGPORT ?? 5432);

/** A connection URL for `database` on the server the PG* variables name. */
export function databaseUrl(database: string, host = pgHost, port = pgPort): string {
  const auth = `${encodeURIComponent(env.PGUSER ?? 'postgres')}:${encodeURIComponent(env.PGPASSWORD ?? '')}`;
  const socket = host.startsWith('/');
  return `postgres://${auth}@${socket ? 'localhost' : host}:${port}/${database}${socket ? `?host=${encodeURIComponent(host)}` : ''}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `usersvc_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({
    connectionString: databaseUrl('postgres'),
    connectionTimeoutMillis: 5000,
  });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pool = new pg.Pool({ connectionString: databaseUrl(name), max: 2 });
  // A connection this pool holds may be cut when the database is dropped (WITH FORCE); that is
  // the end of the test, not a failure of it.
  pool.on('error', () => undefined);
  return {
    name,
    url: databaseUrl(name),
    query: (text, values) => pool.query(text, values),
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: databaseUrl('postgres') });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Collects log lines in memory, so tests can read what the service logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text() {
    return this.lines.join('\n');
  }
}

export interface TestService {
  url: string;
  logs: LogCapture;
  db: DatabaseState;
  close(): Promise<void>;
}

export interface StartOptions {
  waitForDatabase?: boolean;
  /** More configuration, as environment variables (validated by loadConfig, as in production). */
  env?: Record<string, string>;
  /** Wraps the PostgreSQL repository, to inject failures. */
  wrapRepo?: (repo: Repository) => Repository;
}

/** Builds the service as server.ts does (buildService) against `url`, and serves it on an ephemeral port. */
export async function startApp(url: string, options: StartOptions = {}): Promise<TestService> {
  const config = loadConfig({
    DATABASE_URL: url,
    DB_POOL_MAX: '5',
    DB_CONNECT_TIMEOUT_MS: '1000',
    ...TOKEN_ENV,
    SCRYPT_COST: String(SCRYPT_COST),
    SERVICE_VERSION: TEST_VERSION,
    ...options.env,
  });
  const logs = new LogCapture();
  const log = createLogger('debug', config.version, logs);
  const { app, pool, db, prepare } = await buildService(config, log, options.wrapRepo);
  const stop = new AbortController();
  const preparing = prepare(stop.signal);
  if (options.waitForDatabase !== false) await preparing;
  const handle = app.callback(); // built once, as server.ts does
  const server: Server = createServer((req, res) => void handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    logs,
    db,
    async close() {
      stop.abort();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await preparing;
      await pool.end();
    },
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** fetch, returning the parsed JSON body (every response of the service is JSON). */
export async function call(
  url: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<Reply> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(url, {
    ...rest,
    headers,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(
      `${init.method ?? 'GET'} ${url}: ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  return { status: response.status, headers: response.headers, body };
}

/** A raw HTTP request, for paths and bodies that fetch would normalise or refuse to send. */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            body: JSON.parse(text) as Record<string, unknown>,
          });
        } catch {
          reject(
            new Error(
              `${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`,
            ),
          );
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Runs the real server entry (src/server.ts) as a child process and waits until it listens. */
export async function spawnService(extraEnv: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import=tsx', serverEntry], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      ...TOKEN_ENV,
      SCRYPT_COST: String(SCRYPT_COST),
      LOG_LEVEL: 'debug',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        const parsed = JSON.parse(line) as { msg?: string; port?: number };
        if (parsed.msg === 'listening' && parsed.port) resolve(parsed.port);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    void exited.then((code) =>
      reject(new Error(`service exited with ${code} before listening:\n${output.join('\n')}`)),
    );
  });
  return { url: `http://127.0.0.1:${port}`, child, output, exited };
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * A TCP relay in front of the real PostgreSQL that a test can cut and restore, to see how the
 * service behaves while its database is unreachable and after it returns.
 */
export async function startRelay(
  targetPort = pgPort,
  targetHost = pgHost === 'localhost' || pgHost.startsWith('/') ? '127.0.0.1' : pgHost,
) {
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    /** Drops every connection and refuses new ones. */
    async cut() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
    async restore() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    async close() {
      if (server.listening) await this.cut();
    },
  };
}

/** Gives the calling test file a database of its own and an app on it, for all its tests. */
export function useService(): { db: TestDatabase; svc: TestService } {
  const fixture = {} as { db: TestDatabase; svc: TestService };
  test.before(async () => {
    fixture.db = await createTestDatabase();
    fixture.svc = await startApp(fixture.db.url);
  });
  test.after.always(async () => {
    await fixture.svc?.close();
    await fixture.db?.drop();
  });
  return fixture;
}
