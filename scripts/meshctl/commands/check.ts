// meshctl check: does this machine and the mesh hold what they should? One line per check.
import type { Command } from '../../lib/cli.js';
import { RolloutFailed } from '../../lib/errors.js';
import { runChecks } from '../../check/checks.js';
import { passed, renderJson, renderResults } from '../../check/report.js';

export const command: Command = {
  name: 'check',
  group: 'inspect',
  summary:
    'does the machine and the mesh hold what they should: one line per check, ✓ or ✗ with what to do',
  failure: 'check',
  flags: [
    {
      name: 'pre',
      help: 'only what needs no mesh: engine, compose, ports, base images, secrets/, certificates',
    },
    { name: 'json', help: 'as JSON: { ok, checks: [{ id, status, detail, hint }] }' },
  ],
  about: `Changes nothing. The engine and compose; ports 8000 and 8001 free or the mesh's; base
images; secrets/ private to its owners; every certificate from the install's CA and not about
to expire; then every service running as declared, the edges live on the routes written,
every running replica healthy in their view and on the current revision, the database
through the published port, the rate limits as configured, and the containers' clock.
Exit 0 when every check holds (‼ is a warning), 1 when one fails.`,
  examples: ['meshctl check', 'meshctl check --pre', 'meshctl check --json'],
  async run({ flags }) {
    const results = await runChecks({ pre: flags.pre === true });
    console.log(flags.json ? renderJson(results) : renderResults(results, process.stdout.isTTY));
    if (!passed(results))
      throw new RolloutFailed(
        `${results
          .filter((r) => r.status === 'fail')
          .map((r) => r.id)
          .join(', ')} failed`,
      );
  },
};
