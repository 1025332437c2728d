// meshctl reference: docs/reference/commands.md, written from every command's own help.
import { commandsReference, type Command } from '../../lib/cli.js';

export const command: Command = {
  name: 'reference',
  group: 'hidden',
  summary: "every command's help as one Markdown page (docs/reference/commands.md)",
  // The commands come from the program running it (main.ts), not from index.ts, which lists
  // this one: no import circle.
  run(_parsed, { commands }) {
    process.stdout.write(commandsReference(commands));
    return Promise.resolve();
  },
};
