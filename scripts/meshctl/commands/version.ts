// meshctl version: what this tree builds, what runs, and the tools it runs with.
import type { Command } from '../../lib/cli.js';
import { compose, composeCli } from '../../lib/compose.js';
import { docker, engineInfo, PROJECT } from '../../lib/docker.js';
import { ROOT } from '../../lib/paths.js';
import { serviceVersion } from '../../lib/version.js';

const or = (p: Promise<string>, fallback: string) =>
  p.then(
    (s) => s.trim() || fallback,
    () => fallback,
  );

export const command: Command = {
  name: 'version',
  group: 'inspect',
  summary: 'the service version this tree builds, the versions running, the engine and compose',
  flags: [
    { name: 'json', help: 'as JSON' },
    { name: 'short', help: 'only the service version this tree builds (asks no engine)' },
  ],
  async run({ flags }) {
    if (flags.short) return console.log(serviceVersion(ROOT));
    const running = or(
      docker([
        'ps',
        '--filter',
        `label=com.docker.compose.project=${PROJECT}`,
        '--filter',
        'label=com.docker.compose.service=usersvc',
        '--format',
        '{{.Label "org.opencontainers.image.revision"}}',
      ]).then((s) => [...new Set(s.split('\n').filter(Boolean))].join(', ')),
      'none',
    );
    const versions = {
      tree: serviceVersion(ROOT),
      running: await running,
      engine: await or(engineInfo(), 'not reachable'),
      compose: `${(await composeCli()).join(' ')} ${await or(compose(['version', '--short']), '?')}`,
      node: process.versions.node,
    };
    if (flags.json) return console.log(JSON.stringify(versions, null, 2));
    console.log(`service version this tree builds: ${versions.tree}
running:   ${versions.running}
engine:    ${versions.engine}
compose:   ${versions.compose}
node:      ${versions.node}`);
  },
};
