// meshctl: the mesh's one operator program. One file per command in commands/, each thin over
// scripts/lib/ and the modules of its tool (rollout/, stats/, bench/, backup/); the Makefile's
// targets call it. Exit codes: 0 done, 1 failed (saying why), 2 bad usage or configuration.
import { commandHelp, findCommand, parseArgs, programHelp } from '../lib/cli.js';
import { useImagesFile } from '../lib/compose.js';
import { DockerError } from '../lib/docker.js';
import { RolloutFailed, UsageError } from '../lib/errors.js';
import { MeshDown } from '../stats/collect.js';
import { ROOT } from '../lib/run.js';
import { serviceVersion } from '../lib/version.js';
import { COMMANDS } from './commands/index.js';

/** Failures that are the mesh's or the engine's, not a bug here: one line each. */
const ONE_LINE = [RolloutFailed, DockerError, MeshDown];

export async function main(argv: string[]): Promise<number> {
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
    await command.run(parsed);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(
        `${command.name}: ${err.message.replace(new RegExp(`^${command.name}: `), '')}`,
      );
      return 2;
    }
    if (ONE_LINE.some((kind) => err instanceof kind)) {
      console.error(`${command.failure ?? command.name}: ${(err as Error).message}`);
      return 1;
    }
    console.error(`${command.name}:`, err);
    return 1;
  }
}
