// The mesh's settings file (.env): read and written as compose reads it, with make's
// environment winning; and every variable the compose files read is one of its keys.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { UsageError } from '../errors.js';
import { KEYS, loadSettings, parseEnvFile, renderEnvFile } from '../settings.js';

const root = new URL('../../..', import.meta.url).pathname;

test('.env round trip: comments skipped, keys in a fixed order, quotes taken off as compose does', (t) => {
  const text = renderEnvFile({
    USERSVC_REPLICAS: '3',
    COMPOSE_PROJECT_NAME: 'usermesh',
    LOG_LEVEL: 'warn',
  });
  t.regex(text, /^# The mesh's settings/);
  t.deepEqual(
    text.split('\n').filter((l) => l && !l.startsWith('#')),
    ['COMPOSE_PROJECT_NAME=usermesh', 'USERSVC_REPLICAS=3', 'LOG_LEVEL=warn'],
  );
  t.deepEqual(parseEnvFile(text), {
    COMPOSE_PROJECT_NAME: 'usermesh',
    USERSVC_REPLICAS: '3',
    LOG_LEVEL: 'warn',
  });
  t.deepEqual(parseEnvFile('\n# a note\nLOG_LEVEL="debug"\nSCRYPT_COST=\n'), {
    LOG_LEVEL: 'debug',
    SCRYPT_COST: '',
  });
});

test('.env: a line that is not a setting of the mesh is refused, naming it', (t) => {
  t.throws(() => parseEnvFile('LOG_LEVEL=info\nLOG_LEVLE=debug\n'), {
    instanceOf: UsageError,
    message: /line 2: LOG_LEVLE is not a setting of the mesh/,
  });
  t.throws(() => parseEnvFile('just words'), {
    instanceOf: UsageError,
    message: /line 1 is not KEY=value/,
  });
  t.throws(() => renderEnvFile({ LOG_LEVEL: 'two words' }), {
    instanceOf: UsageError,
    message: /LOG_LEVEL may not contain spaces/,
  });
});

test('the environment wins over .env, an empty value included; the file and project are always there', (t) => {
  const settings = loadSettings({ LOG_LEVEL: 'warn', SCRYPT_COST: '', UNRELATED: 'x' });
  t.is(settings.LOG_LEVEL, 'warn');
  t.is(settings.SCRYPT_COST, '');
  t.is(settings.COMPOSE_PROJECT_NAME, 'usermesh');
  t.regex(settings.COMPOSE_FILE ?? '', /^compose\/docker-compose\.yml/);
  t.false('UNRELATED' in settings);
});

test('every variable the compose files read is a key of .env, so compose by hand resolves what make ran', (t) => {
  const read = new Set<string>();
  for (const file of ['compose/docker-compose.yml', 'compose/dev.yml']) {
    for (const [, name] of readFileSync(`${root}${file}`, 'utf8').matchAll(
      /\$\{([A-Z_][A-Z0-9_]*)/g,
    ))
      read.add(name!);
  }
  t.true(read.size > 20, `${read.size} variables`);
  t.deepEqual(
    [...read].filter((name) => !(KEYS as readonly string[]).includes(name)),
    [],
  );
});
