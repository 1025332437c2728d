// meshctl: the mesh's one operator program. One file per command in commands/, each thin over
// scripts/lib/ and the modules of its tool (rollout/, stats/, bench/, backup/); the Makefile's
// targets call it. Exit codes: 0 done, 1 failed (saying why), 2 bad usage or configuration; each
// failure is one line on stderr (lib/errors.ts), with its stack under --debug.
import { commandHelp, findCommand, parseArgs, programHelp } from '../lib/cli.js';
import { useImagesFile } from '../lib/compose.js';
import { Failure, UsageError } from '../lib/errors.js';
import { ROOT } from '../lib/paths.js';
import { serviceVersion } from '../lib/version.js';
import { COMMANDS } from './commands/index.js';

export async function main(args: string[]): Promise<number> {
  // --debug, anywhere: a failure's stack too, for a bug report.
  const debug = args.includes('--debug');
  const argv = args.filter((a) => a !== '--debug');
  // The version this tree builds, once, before .env's (what was built last) can stand in for
  // it: compose builds and labels with it, and .env records it.
  process.env.SERVICE_VERSION ||= serviceVersion(ROOT);
  useImagesFile();
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    console.log(programHelp(COMMANDS));
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(COMMANDS, argv);
  // `meshctl swarm --help` (or bare `meshctl swarm`): the group's commands, as git and kubectl
  // list a group's; exit 0 only when help was asked for.
  const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
  if (!found && group.length > 0 && (argv.length === 1 || ['--help', '-h'].includes(argv[1]!))) {
    console.log(programHelp(group));
    return argv.length === 1 ? 2 : 0;
  }
  if (!found) {
    console.error(
      `meshctl: no command "${argv.slice(0, 2).join(' ')}" (meshctl --help lists them)`,
    );
    return 2;
  }
  const { command, rest } = found;
  try {
    const parsed = parseArgs(command, rest);
    if (parsed.flags.help) {
      console.log(commandHelp(command));
      return 0;
    }
    await command.run(parsed, { commands: COMMANDS });
    return 0;
  } catch (err) {
    return failed(command, err, debug);
  }
}

/** One line on stderr for any failure, the exit code its kind says (lib/errors.ts). */
function failed(command: { name: string; failure?: string }, err: unknown, debug: boolean): number {
  if (debug) console.error(err);
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof UsageError) {
    console.error(`${command.name}: ${message.replace(new RegExp(`^${command.name}: `), '')}`);
    return 2;
  }
  if (err instanceof Failure) {
    console.error(`${command.failure ?? command.name}: ${message}`);
    return 1;
  }
  // Not a failure this program foresaw: a bug here. Still one line; the stack on request.
  console.error(
    `${command.name}: ${message.split('\n')[0]}${debug ? '' : ' (meshctl --debug shows where: a bug to report)'}`,
  );
  return 1;
}
