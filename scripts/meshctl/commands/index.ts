// Every meshctl command, in the order `meshctl --help` lists them within their groups.
import type { Command } from '../../lib/cli.js';
import * as backup from './backup.js';
import * as bench from './bench.js';
import * as canary from './canary.js';
import * as check from './check.js';
import * as clean from './clean.js';
import * as dev from './dev.js';
import * as dockerRun from './docker-run.js';
import * as down from './down.js';
import * as edgeConfig from './edge-config.js';
import * as fuzz from './fuzz.js';
import * as images from './images.js';
import * as kubernetes from './kubernetes.js';
import * as logs from './logs.js';
import * as makeHelp from './make-help.js';
import * as promote from './promote.js';
import * as reference from './reference.js';
import * as ps from './ps.js';
import * as restore from './restore.js';
import * as rollback from './rollback.js';
import * as rotateCerts from './rotate-certs.js';
import * as rotateKeys from './rotate-keys.js';
import * as scale from './scale.js';
import * as secrets from './secrets.js';
import * as stats from './stats.js';
import * as swarm from './swarm.js';
import * as up from './up.js';
import * as version from './version.js';
import * as wait from './wait.js';

export const COMMANDS: Command[] = [
  up.command,
  down.command,
  clean.command,
  dev.command,
  backup.command,
  restore.command,
  images.command,
  scale.command,
  canary.command,
  promote.command,
  rollback.command,
  rotateCerts.command,
  rotateKeys.command,
  secrets.command,
  check.command,
  ps.command,
  logs.command,
  stats.command,
  bench.command,
  fuzz.command,
  version.command,
  wait.command,
  swarm.up,
  swarm.down,
  dockerRun.print,
  kubernetes.render,
  kubernetes.check,
  kubernetes.secrets,
  kubernetes.up,
  edgeConfig.command,
  makeHelp.command,
  reference.command,
];
