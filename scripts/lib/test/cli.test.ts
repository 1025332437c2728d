// The command line as meshctl reads it, the Makefile as make help and the architecture test read
// it, and the offline kit's image file as compose's environment reads it.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { commandHelp, count, findCommand, parseArgs, type Command } from '../cli.js';
import { parseImagesFile } from '../compose.js';
import { UsageError } from '../errors.js';
import { makeHelp, parseMakefile } from '../makefile.js';

const scale: Command = {
  name: 'scale',
  group: 'change',
  summary: 'run N replicas',
  args: 'N',
  arity: [0, 1],
  flags: [
    { name: 'replicas', value: 'N', env: 'N', help: 'how many' },
    { name: 'force', env: 'FORCE', help: 'a switch' },
  ],
  run: () => Promise.resolve(),
};

test('flags: --name value, --name=value, switches, arguments, and -- ending the flags', (t) => {
  t.deepEqual(parseArgs(scale, ['--replicas', '3'], {}), { flags: { replicas: '3' }, args: [] });
  t.deepEqual(parseArgs(scale, ['--replicas=3', '--force'], {}), {
    flags: { replicas: '3', force: true },
    args: [],
  });
  t.deepEqual(parseArgs(scale, ['--', '--4'], {}), { flags: {}, args: ['--4'] });
  t.deepEqual(
    parseArgs(scale, ['-h', 'extra', 'words'], {}).flags,
    { help: true },
    '--help wins over anything else',
  );
});

test('make\'s variables stand in for flags not given; the command line wins; an empty one is unset; "0" is off', (t) => {
  t.is(parseArgs(scale, [], { N: '4' }).flags.replicas, '4');
  t.is(parseArgs(scale, ['--replicas', '2'], { N: '4' }).flags.replicas, '2');
  t.is(parseArgs(scale, [], { N: ' ' }).flags.replicas, undefined);
  t.is(parseArgs(scale, [], { FORCE: '1' }).flags.force, true);
  t.is(parseArgs(scale, [], { FORCE: '0' }).flags.force, false);
});

test('bad usage is a UsageError naming the flag, the command, or the count of arguments', (t) => {
  t.throws(() => parseArgs(scale, ['--bogus'], {}), {
    instanceOf: UsageError,
    message: 'scale: unknown flag --bogus (meshctl scale --help)',
  });
  t.throws(() => parseArgs(scale, ['--force=yes'], {}), {
    message: 'scale: --force takes no value',
  });
  t.throws(() => parseArgs(scale, ['--replicas', '--force'], {}), {
    message: 'scale: --replicas needs a value (N)',
  });
  t.throws(() => parseArgs(scale, ['1', '2'], {}), {
    message: /takes 0 to 1 argument\(s\) \(N\), got 2/,
  });
  t.throws(() => count('N', '1000'), {
    message: 'N must be a whole number from 1 to 999, got "1000"',
  });
  t.is(count('N', undefined), undefined);
  t.is(count('N', '007'), 7);
});

test("a command of two words is found before one of one; help shows make's variable beside each flag", (t) => {
  const up: Command = { ...scale, name: 'swarm up' };
  const found = findCommand([scale, up], ['swarm', 'up', '--replicas', '2']);
  t.is(found?.command.name, 'swarm up');
  t.deepEqual(found?.rest, ['--replicas', '2']);
  t.is(findCommand([scale, up], ['swarm']), undefined);
  t.regex(commandHelp(scale), /^ {2}--replicas N {2}how many \(make: N=\)$/m);
});

test("the Makefile: its targets under their groups, each recipe's lines; make help lists them by group", (t) => {
  const targets = parseMakefile(
    'SHELL := bash\nhelp: ## list\n\t@x help\n\n##@ Use the mesh\nup: node_modules ## start it\n\t$(MESHCTL) up\n\nnode_modules: package-lock.json\n\tnpm ci\n',
  );
  t.deepEqual(targets, [
    { name: 'help', help: 'list', group: '', recipe: ['@x help'] },
    { name: 'up', help: 'start it', group: 'Use the mesh', recipe: ['$(MESHCTL) up'] },
    { name: 'node_modules', help: '', group: 'Use the mesh', recipe: ['npm ci'] },
  ]);
  t.regex(makeHelp(targets), /^Use the mesh:\n {2}make up {4}start it$/m);
  const real = parseMakefile(readFileSync(new URL('../../../Makefile', import.meta.url), 'utf8'));
  t.truthy(real.find((x) => x.name === 'up' && x.group === 'Use the mesh'));
});

test('.images.env: KEY=value lines, quotes and export allowed, anything else skipped', (t) => {
  t.deepEqual(
    parseImagesFile(
      '# the kit\nNODE_IMAGE=offline/node:24\nexport ENVOY_IMAGE="offline/envoy:1.40"\nnonsense\n',
    ),
    {
      NODE_IMAGE: 'offline/node:24',
      ENVOY_IMAGE: 'offline/envoy:1.40',
    },
  );
});
