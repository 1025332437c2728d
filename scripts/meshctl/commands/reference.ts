// meshctl reference: docs/reference/commands.md, written from every command's own help.
import { commandsReference, type Command } from '../../lib/cli.js';

export const command: Command = {
  name: 'reference',
  group: 'hidden',
  summary: "every command's help as one Markdown page (docs/reference/commands.md)",
  async run() {
    // index.ts lists this command too: read it when run, not when loaded.
    const { COMMANDS } = await import('./index.js');
    process.stdout.write(commandsReference(COMMANDS));
  },
};
