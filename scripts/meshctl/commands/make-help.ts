// meshctl make-help: what `make help` prints (the Makefile's targets by task).
import { readFileSync } from 'node:fs';
import type { Command } from '../../lib/cli.js';
import { makeHelp, parseMakefile } from '../../lib/makefile.js';
import { ROOT } from '../../lib/paths.js';

export const command: Command = {
  name: 'make-help',
  group: 'hidden',
  summary: "the Makefile's targets by task (make help)",
  run() {
    console.log(makeHelp(parseMakefile(readFileSync(`${ROOT}Makefile`, 'utf8'))));
    return Promise.resolve();
  },
};
