#!/usr/bin/env node
/* global process */
// meshctl's launcher: runs scripts/meshctl/main.ts through tsx, so that no build step stands
// between an edit and the next command. `npx meshctl --help` lists the commands.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../scripts/meshctl/main.ts');
// `meshctl stats --json | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => process.exit(err.code === 'EPIPE' ? 0 : 1));
process.exitCode = await main(process.argv.slice(2));
