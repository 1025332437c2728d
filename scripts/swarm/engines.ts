// The engines make swarm-up talks to: SWARM_HOST, a manager of the swarm (unix://..., ssh://...,
// tcp://...; empty: this machine's engine), and SWARM_NODES, every node's engine, which get the
// images (no registry: docker save | docker load; by default SWARM_HOST alone).
import { spawn } from 'node:child_process';
import { docker } from '../lib/docker.js';
import { RolloutFailed } from '../lib/errors.js';

export const STACK = 'usermesh';
/** The images the stack runs, each usermesh/<name>. */
export const IMAGES = ['usersvc', 'edge', 'postgres'] as const;

export const managerHost = () => process.env.SWARM_HOST ?? '';
/** The manager, as messages name it. */
export const managerName = () => managerHost() || 'this machine';
export const nodes = () =>
  (process.env.SWARM_NODES || managerHost() || 'local').split(/\s+/).filter(Boolean);

/** docker against the swarm's manager. */
export const sw = (args: string[], timeoutMs = 60_000) =>
  docker([...(managerHost() ? ['-H', managerHost()] : []), ...args], { timeoutMs });

/** docker's arguments for one node of SWARM_NODES ("local": this machine's engine). */
export const onNode = (node: string, args: string[]) =>
  node === 'local' ? args : ['-H', node, ...args];

/** docker save IMAGE here | docker load on NODE. */
export function copyImage(image: string, node: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', onNode(node, ['load', '-q']), {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let said = '';
    save.stderr.on('data', (d: Buffer) => (said += d.toString()));
    load.stderr.on('data', (d: Buffer) => (said += d.toString()));
    save.stdout.pipe(load.stdin);
    save.on('error', reject);
    load.on('error', reject);
    load.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new RolloutFailed(
              `copying ${image} to ${node}: ${said.trim().split('\n').at(-1) ?? `exit ${code}`}`,
            ),
          ),
    );
  });
}
