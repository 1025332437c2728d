// The process as ops sees it: configuration errors stop it with one clear line, and SIGTERM
// lets in-flight requests finish before it exits 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ConfigError, loadConfig } from '../src/config.js';
import { call, createTestDatabase, eventually, spawnService, TOKEN_SECRET } from './helpers.js';

const base = { TOKEN_SECRET };

test('config: defaults', (t) => {
  const config = loadConfig(base);
  t.like(config, { host: '127.0.0.1', port: 5000, dbPoolMax: 10, logLevel: 'info', tokenTtlSeconds: 3600, scryptCost: 17, databaseUrl: undefined });
});

test('config: each invalid value is refused with a message naming its variable', (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ PORT: '70000' }, /PORT must be between 0 and 65535/],
    [{ DB_POOL_MAX: '0' }, /DB_POOL_MAX/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ SCRYPT_COST: '30' }, /SCRYPT_COST must be between 10 and 20/],
    [{ TOKEN_SECRET: 'short' }, /TOKEN_SECRET must be set/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres/],
    [{ TOKEN_TTL_SECONDS: '-5' }, /TOKEN_TTL_SECONDS/],
  ];
  for (const [env, message] of cases) {
    const err = t.throws(() => loadConfig({ ...base, ...env }), { instanceOf: ConfigError });
    t.regex(err?.message ?? '', message);
  }
});

test('an invalid configuration stops the process with exit 2 and one line naming the variable', (t) => {
  const entry = fileURLToPath(new URL('../src/server.ts', import.meta.url));
  const result = spawnSync(process.execPath, ['--import=tsx', entry], { env: { ...process.env, TOKEN_SECRET: '' }, encoding: 'utf8', timeout: 20_000 });
  t.is(result.status, 2);
  t.is(result.stderr.trim(), 'user-service: invalid configuration: TOKEN_SECRET must be set to at least 32 characters (shared by every replica)');
});

test('SIGTERM: in-flight requests finish, then the process exits 0', async (t) => {
  const db = await createTestDatabase();
  // A high scrypt cost makes a create take long enough to be in flight when the signal lands.
  const svc = await spawnService({ DATABASE_URL: db.url, SCRYPT_COST: '16' });
  try {
    t.true(await eventually(async () => (await call(`${svc.url}/user/health?deep=1`)).status === 200, 10_000));
    const inFlight = call(`${svc.url}/user/slowpoke`, { method: 'PUT', json: { fullname: 'Slow', password: 'slowpassword' } });
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
