// What a meshctl command is, how its arguments are read, and how its help is written. A flag may
// also be given as make's variable (make scale N=3 runs `meshctl scale` with N=3 in the
// environment); a flag on the command line wins. Bad usage is a UsageError: one line, exit 2.
import { UsageError } from './errors.js';

export interface Flag {
  /** --name on the command line */
  name: string;
  /** what it takes (N, FILE, PERCENT); none: a switch */
  value?: string;
  /** make's variable for it, read from the environment */
  env?: string;
  help: string;
}

/** Where `meshctl --help` lists it; hidden ones are make's plumbing (make-help). */
export type Group = 'use' | 'change' | 'inspect' | 'deploy' | 'hidden';

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  args: string[];
}

export interface Command {
  /** one word, or two for a command with sub-commands (swarm up) */
  name: string;
  group: Group;
  summary: string;
  /** how its failures start (default: its name): 'rollout failed: the new replica ...' */
  failure?: string;
  /** positional arguments, as the usage line shows them: 'N', '[SERVICE...]' */
  args?: string;
  /** how many positional arguments it takes: [least, most] (default [0, 0]) */
  arity?: [number, number];
  flags?: Flag[];
  /** a few lines: what it does, what it changes, what it waits for */
  about?: string;
  examples?: string[];
  /** program: the program it runs in (its commands), for a command about the others */
  run(parsed: Parsed, program: { commands: Command[] }): Promise<void>;
}

export const GROUPS: Record<Group, string> = {
  use: 'Use the mesh',
  change: 'Change it',
  inspect: 'Inspect it',
  deploy: 'Deploy elsewhere',
  hidden: '',
};

const HELP: Flag = { name: 'help', help: 'this help (touches nothing)' };

/** The command line after the command's name: --flag value, --flag=value, switches, arguments. */
export function parseArgs(
  command: Command,
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Parsed {
  const flags: Parsed['flags'] = {};
  const args: string[] = [];
  const known = [...(command.flags ?? []), HELP];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (word === '-h') {
      flags.help = true;
      continue;
    }
    if (!word.startsWith('--')) {
      args.push(word);
      continue;
    }
    const [name, inline] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const flag = known.find((f) => f.name === name);
    if (!flag)
      throw new UsageError(
        `${command.name}: unknown flag --${name} (meshctl ${command.name} --help)`,
      );
    if (!flag.value) {
      if (inline !== undefined) throw new UsageError(`${command.name}: --${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new UsageError(`${command.name}: --${name} needs a value (${flag.value})`);
    }
    flags[name] = value;
  }
  if (flags.help) return { flags, args };
  // make's variables, where the command line said nothing: an empty one is unset.
  for (const flag of command.flags ?? []) {
    const fromEnv = flag.env ? env[flag.env]?.trim() : undefined;
    if (flags[flag.name] !== undefined || !fromEnv) continue;
    flags[flag.name] = flag.value ? fromEnv : fromEnv !== '0';
  }
  const [least, most] = command.arity ?? [0, 0];
  if (args.length < least || args.length > most) {
    const want = least === most ? `${least}` : `${least} to ${most}`;
    throw new UsageError(
      `${command.name}: takes ${want} argument(s)${command.args ? ` (${command.args})` : ''}, got ${args.length}: ${usage(command)}`,
    );
  }
  return { flags, args };
}

/** A whole number from `least` to 999, or undefined when not given; `what` names it in the error. */
export function count(
  what: string,
  raw: string | boolean | undefined,
  least = 1,
): number | undefined {
  if (raw === undefined || raw === false) return undefined;
  const text = String(raw).trim();
  if (!/^\d{1,3}$/.test(text) || Number(text) < least) {
    throw new UsageError(`${what} must be a whole number from ${least} to 999, got "${text}"`);
  }
  return Number(text);
}

export function usage(command: Command): string {
  const flags = (command.flags ?? []).length ? ' [flags]' : '';
  return `meshctl ${command.name}${command.args ? ` ${command.args}` : ''}${flags}`;
}

/** `meshctl COMMAND --help`: what it does, its flags (with make's variable), examples. */
export function commandHelp(command: Command): string {
  const lines = [`${command.summary}`, '', `Usage: ${usage(command)}`];
  if (command.about) lines.push('', ...command.about.trim().split('\n'));
  const flags = [...(command.flags ?? []), HELP];
  const left = flags.map((f) => `--${f.name}${f.value ? ` ${f.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  lines.push('', 'Flags:');
  flags.forEach((f, i) =>
    lines.push(`  ${left[i]!.padEnd(width)}  ${f.help}${f.env ? ` (make: ${f.env}=)` : ''}`),
  );
  if (command.examples?.length)
    lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** `meshctl --help`: every command, grouped, one line each. */
export function programHelp(commands: Command[]): string {
  const width = Math.max(...commands.filter((c) => c.group !== 'hidden').map((c) => c.name.length));
  const lines = [
    'meshctl: run, change and inspect the Envoy user mesh',
    '',
    'Usage: meshctl COMMAND [flags]',
  ];
  for (const [group, title] of Object.entries(GROUPS)) {
    if (group === 'hidden') continue;
    const members = commands.filter((c) => c.group === group);
    if (members.length)
      lines.push('', `${title}:`, ...members.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`));
  }
  lines.push('', 'meshctl COMMAND --help says more (it touches nothing).');
  lines.push(
    'Exit codes: 0 done, 1 failed (the mesh serves as before), 2 bad usage or configuration;',
    'either says why in one line on stderr (--debug adds where, for a bug report).',
  );
  return lines.join('\n');
}

/** docs/reference/commands.md: `meshctl --help`, then each listed command's own help. */
export function commandsReference(commands: Command[]): string {
  const listed = commands.filter((c) => c.group !== 'hidden');
  const block = (text: string) => ['```text', text, '```', ''];
  return [
    "# Reference: meshctl's commands",
    '',
    'Every command of the operator program, as `npx meshctl COMMAND --help` prints it.',
    '',
    'Generated from the commands themselves (`npx meshctl reference > docs/reference/commands.md`);',
    'a test fails when this page and the program disagree. Each make target runs one of them:',
    '[the operator CLI](../meshctl.md).',
    '',
    '## meshctl',
    '',
    ...block(programHelp(commands)),
    ...listed.flatMap((c) => [`## ${c.name}`, '', ...block(commandHelp(c))]),
  ].join('\n');
}

/** The command a command line names: the longest name that its first words spell. */
export function findCommand(
  commands: Command[],
  argv: string[],
): { command: Command; rest: string[] } | undefined {
  const two = commands.find((c) => c.name === argv.slice(0, 2).join(' '));
  if (two) return { command: two, rest: argv.slice(2) };
  const one = commands.find((c) => c.name === argv[0]);
  return one ? { command: one, rest: argv.slice(1) } : undefined;
}

/**
 * A long operation's progress lines, each with the time since the command began:
 * `rollout: the edges see 3 healthy usersvc replica(s) (41.2 s)`.
 */
export function progress(prefix: string, started = Date.now()): (line: string) => void {
  return (line) =>
    console.log(`${prefix}: ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
