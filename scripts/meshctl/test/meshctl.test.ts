// meshctl's commands, run in this process: every --help touches nothing (no docker on PATH),
// bad usage exits 2 naming the flag or variable, before anything is started. One run through
// the launcher checks what a user types.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import test from 'ava';
import { CHECKS } from '../../check/checks.js';
import { commandsReference } from '../../lib/cli.js';
import { main } from '../main.js';
import { COMMANDS } from '../commands/index.js';

const root = new URL('../../..', import.meta.url).pathname;

/** main(argv) with console captured and no docker, compose or git on PATH. */
async function run(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const saved = { log: console.log, error: console.error, env: { ...process.env } };
  let out = '';
  let err = '';
  console.log = (...a: unknown[]) => void (out += `${a.join(' ')}\n`);
  console.error = (...a: unknown[]) => void (err += `${a.join(' ')}\n`);
  process.env.PATH = mkdtempSync(`${tmpdir()}/no-tools-`);
  for (const key of ['N', 'OBSERVE', 'WEIGHT', 'CANARY_N', 'FILE', 'FORCE'])
    delete process.env[key];
  Object.assign(process.env, env);
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    process.env = saved.env;
  }
}

test.serial(
  'every command has --help, and it touches nothing: no docker on PATH, exit 0',
  async (t) => {
    for (const command of COMMANDS) {
      const r = await run([...command.name.split(' '), '--help']);
      t.is(r.code, 0, command.name);
      t.regex(r.out, new RegExp(`Usage: meshctl ${command.name}`), command.name);
      t.is(r.err, '', command.name);
    }
  },
);

test.serial(
  'meshctl --help lists every command under its group; no command is an error (exit 2)',
  async (t) => {
    const help = await run(['--help']);
    t.is(help.code, 0);
    for (const title of ['Use the mesh:', 'Change it:', 'Inspect it:', 'Deploy elsewhere:'])
      t.true(help.out.includes(title), title);
    for (const c of COMMANDS.filter((x) => x.group !== 'hidden'))
      t.regex(help.out, new RegExp(`^  ${c.name} `, 'm'));
    t.is((await run([])).code, 2);
    const unknown = await run(['uptime']);
    t.is(unknown.code, 2);
    t.regex(unknown.err, /no command "uptime"/);
  },
);

test.serial(
  "bad usage: exit 2, one line naming the flag or make's variable, before anything runs",
  async (t) => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['scale', 'abc'], {}, /^scale: N must be a whole number from 1 to 999, got "abc"$/],
      [['scale'], { N: '0' }, /N must be a whole number/],
      [['scale'], {}, /how many replicas\?/],
      [['scale', '3', '4'], {}, /takes 0 to 1 argument/],
      [['up', '--replicas', '1000'], {}, /--replicas must be a whole number/],
      [['up'], { OBSERVE: 'yes' }, /--observe must be 1 .* or 0 .*, got "yes"/],
      [['up', '--observe'], {}, /--observe needs a value/],
      [['up', '--bogus'], {}, /unknown flag --bogus/],
      [['canary'], { WEIGHT: '101' }, /WEIGHT must be/],
      [['stats', '--interval', '0.1'], {}, /--interval must be a number of seconds, at least 0\.5/],
      [['bench', '--paths', 'direct,nowhere'], {}, /--paths: nowhere is not one of/],
      [['bench', '--rates', '10,x'], {}, /--rates takes whole numbers/],
      [['bench', '--price-list', '--rates', '200'], {}, /--rates with --price-list takes two/],
      [
        ['bench', '--price-list', '--variants', 'no-such'],
        {},
        /--variants: no-such is not one of shipped, floor/,
      ],
      [['restore'], {}, /which file\?/],
      [['secrets', 'burn'], {}, /init, rotate or static DAYS/],
      [['ps', '--json=1'], {}, /unknown flag --json/],
    ];
    for (const [argv, env, said] of cases) {
      const r = await run(argv, env);
      t.is(r.code, 2, argv.join(' '));
      t.regex(r.err.trim(), said, argv.join(' '));
      t.is(r.err.trim().split('\n').length, 1, `${argv.join(' ')}: one line`);
    }
  },
);

test('through the launcher, as a user types it: npx meshctl scale --help, and a bad flag', async (t) => {
  const launch = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('npx', ['meshctl', ...args], { cwd: root }, (_e, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
  const help = await launch(['scale', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Usage: meshctl scale N/);
  const bad = await launch(['scale', '--replicas']);
  t.is(bad.code, 2);
  t.is(bad.stderr, 'scale: --replicas needs a value (N)\n');
});

test('docs/meshctl.md names every command, and every check of meshctl check', (t) => {
  const page = readFileSync(`${root}docs/meshctl.md`, 'utf8');
  for (const c of COMMANDS.filter((x) => x.group !== 'hidden')) {
    t.true(page.includes(`\`${c.name}`), `docs/meshctl.md does not name ${c.name}`);
  }
  for (const check of CHECKS)
    t.true(page.includes(`\`${check.id}\``), `no row for the check ${check.id}`);
});

test("docs/reference/commands.md is every command's help as the program prints it", (t) => {
  const page = readFileSync(`${root}docs/reference/commands.md`, 'utf8');
  t.is(
    page,
    commandsReference(COMMANDS),
    'run: npx meshctl reference > docs/reference/commands.md',
  );
});

test('make up with no Docker: one line with the command that installs it on this distribution', async (t) => {
  // The base images' step is make up's first contact with Docker; give it a PATH without docker.
  const bin = mkdtempSync(`${tmpdir()}/no-docker-`);
  for (const tool of ['dirname', 'sed', 'tr']) symlinkSync(`/usr/bin/${tool}`, `${bin}/${tool}`);
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
    execFile(
      '/bin/bash',
      [`${root}scripts/base-images.sh`],
      { env: { PATH: bin } },
      (err, _o, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    ),
  );
  t.is(result.code, 1);
  const release = readFileSync('/etc/os-release', 'utf8');
  t.regex(
    result.stderr,
    /debian|ubuntu/i.test(release)
      ? /^make up needs Docker, and there is none here; to install it and start it: sudo apt-get install docker\.io docker-compose && sudo systemctl start docker\n$/
      : /^make up needs Docker, and there is none here; to install it and start it: .+\n$/,
  );
});
