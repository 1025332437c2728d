// The process as ops sees it: configuration errors stop it with one clear line, and SIGTERM
// lets in-flight requests finish before it exits 0 (with a grace for kept-alive connections: make dev).
import { spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ConfigError, loadConfig } from '../src/config.js';
import { newTokenKeys } from '../src/tokens.js';
import { call, createTestDatabase, eventually, spawnService, TOKEN_ENV } from './helpers.js';

const base = { ...TOKEN_ENV };

test('config: defaults', (t) => {
  const config = loadConfig(base);
  t.like(config, {
    host: '127.0.0.1',
    port: 5000,
    dbPoolMax: 10,
    logLevel: 'info',
    tokenTtlSeconds: 900,
    scryptCost: 17,
    databaseUrl: undefined,
    version: 'dev',
    reusePort: false,
    shutdownIdleGraceMs: 0,
  });
});

test('config: each invalid value is refused with a message naming its variable', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be between 0 and 65535/],
    [{ DB_POOL_MAX: '0' }, /DB_POOL_MAX/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ SCRYPT_COST: '30' }, /SCRYPT_COST must be between 10 and 20/],
    [{ TOKEN_SECRET: 'x'.repeat(64) }, /TOKEN_SECRET is no longer read: tokens are ES256/],
    [{ TOKEN_TTL_SECONDS: '86401' }, /TOKEN_TTL_SECONDS must be between 1 and 86400/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres/],
    [{ TOKEN_TTL_SECONDS: '-5' }, /TOKEN_TTL_SECONDS/],
    [{ SERVICE_VERSION: 'v1 with spaces' }, /SERVICE_VERSION must be 1 to 64/],
    [{ SERVICE_VERSION: '-starts-with-a-dash' }, /SERVICE_VERSION must be 1 to 64/],
    [{ REUSE_PORT: 'yes' }, /REUSE_PORT must be 0 or 1/],
    [{ SHUTDOWN_IDLE_GRACE_MS: '90000' }, /SHUTDOWN_IDLE_GRACE_MS must be between 0 and 60000/],
  ];
  for (const [env, message] of cases) {
    const err = t.throws(() => loadConfig({ ...base, ...env }), { instanceOf: ConfigError });
    t.regex(err?.message ?? '', message);
  }
});

test('an invalid configuration stops the process with exit 2 and one line naming the variable', (t) => {
  const entry = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import=tsx', entry], {
    env: { ...process.env, TOKEN_KEY_FILE: '' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.is(result.status, 2);
  t.is(
    result.stderr.trim(),
    'user-service: invalid configuration: TOKEN_KEY_FILE must name a file (make up creates them in secrets/)',
  );
});

test('config: secrets from files (TOKEN_KEY_FILE, TOKEN_JWKS_FILE, DATABASE_PASSWORD_FILE), each problem named', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'usersvc-config-'));
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
    return join(dir, name);
  };
  const other = newTokenKeys();
  const password = file('password', 'p@ss/word:1');
  const config = loadConfig({
    ...TOKEN_ENV,
    DATABASE_URL: 'postgres://usersvc@127.0.0.1:5432/users',
    DATABASE_PASSWORD_FILE: password,
  });
  t.is(config.tokenTtlSeconds, 900, 'tokens live 15 minutes unless told otherwise');
  t.is(config.tokenKeys.jwks.keys.length, 1);
  t.is(new URL(config.databaseUrl ?? '').password, encodeURIComponent('p@ss/word:1'));
  t.is(decodeURIComponent(new URL(config.databaseUrl ?? '').password), 'p@ss/word:1');

  const cases: [Record<string, string>, string][] = [
    [
      { ...TOKEN_ENV, TOKEN_KEY_FILE: join(dir, 'missing') },
      `TOKEN_KEY_FILE names a file that cannot be read (ENOENT): ${join(dir, 'missing')}`,
    ],
    [{ TOKEN_JWKS_FILE: TOKEN_ENV.TOKEN_JWKS_FILE }, 'TOKEN_KEY_FILE must name a file'],
    [{ TOKEN_KEY_FILE: TOKEN_ENV.TOKEN_KEY_FILE }, 'TOKEN_JWKS_FILE must name a file'],
    [
      { ...TOKEN_ENV, TOKEN_KEY_FILE: file('notakey', 'x'.repeat(31)) },
      'TOKEN_KEY_FILE holds no private key in PEM',
    ],
    [
      { ...TOKEN_ENV, TOKEN_JWKS_FILE: file('otherjwks', other.jwks) },
      'TOKEN_JWKS_FILE does not publish the signing key',
    ],
    [
      { ...TOKEN_ENV, TOKEN_SECRET_FILE: file('old', 'k'.repeat(64)) },
      'TOKEN_SECRET_FILE is no longer read',
    ],
    [{ ...TOKEN_ENV, DATABASE_PASSWORD_FILE: password }, 'DATABASE_PASSWORD needs DATABASE_URL'],
    [
      {
        ...TOKEN_ENV,
        DATABASE_URL: 'postgres://u@h/d',
        DATABASE_PASSWORD_FILE: file('nopass', ''),
      },
      'DATABASE_PASSWORD_FILE is empty',
    ],
  ];
  for (const [env, message] of cases) {
    const err = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
    t.true(err?.message.includes(message), `${err?.message} should say: ${message}`);
  }
  rmSync(dir, { recursive: true });
});

test('SIGTERM: in-flight requests finish, then the process exits 0', async (t) => {
  const db = await createTestDatabase();
  // A high scrypt cost makes a create take long enough to be in flight when the signal lands.
  const svc = await spawnService({ DATABASE_URL: db.url, SCRYPT_COST: '16' });
  try {
    t.true(
      await eventually(
        async () => (await call(`${svc.url}/user/health?deep=1`)).status === 200,
        10_000,
      ),
    );
    const inFlight = call(`${svc.url}/user/slowpoke`, {
      method: 'PUT',
      json: { fullname: 'Slow', password: 'slowpassword' },
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    svc.child.kill('SIGTERM');
    const r = await inFlight;
    t.is(r.status, 201, 'the request in flight when SIGTERM arrived completed');
    t.is(await svc.exited, 0);
    const users = await db.query("SELECT 1 FROM users WHERE username = 'slowpoke'");
    t.is(users.rowCount, 1);
    t.true(svc.output.some((l) => l.includes('"msg":"stopped"')));
    await t.throwsAsync(call(`${svc.url}/user/health`), undefined, 'no longer accepting');
  } finally {
    svc.child.kill('SIGKILL');
    await db.drop();
  }
});

test('SIGTERM with SHUTDOWN_IDLE_GRACE_MS: a kept-alive connection still serves, says Connection: close, then the process exits 0', async (t) => {
  const db = await createTestDatabase();
  const svc = await spawnService({ DATABASE_URL: db.url, SHUTDOWN_IDLE_GRACE_MS: '3000' });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      request(`${svc.url}${path}`, { agent }, (res) => {
        res
          .resume()
          .on('end', () =>
            resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
          );
      })
        .on('error', reject)
        .end();
    });
  try {
    t.true(
      await eventually(
        async () => (await call(`${svc.url}/user/health?deep=1`)).status === 200,
        10_000,
      ),
    );
    t.is((await get('/user/health')).connection, 'keep-alive');
    svc.child.kill('SIGTERM');
    t.true(
      await eventually(
        () => Promise.resolve(svc.output.some((l) => l.includes('shutting down'))),
        5_000,
      ),
    );
    // The same connection, after the signal: answered, and told to close.
    t.deepEqual(await get('/user/health'), { status: 200, connection: 'close' });
    t.is(await svc.exited, 0);
  } finally {
    agent.destroy();
    svc.child.kill('SIGKILL');
    await db.drop();
  }
});
