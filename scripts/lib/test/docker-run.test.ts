// The plain-docker rendering of the compose file: scripts/docker-run.sh is exactly what
// meshctl docker-run print writes from compose/docker-compose.yml (so the two cannot drift),
// compose's variables stay bash's, and a key it does not know is refused, not dropped.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { renderDockerRun, word } from '../docker-run.js';

const root = new URL('../../..', import.meta.url).pathname;
const composeText = readFileSync(`${root}compose/docker-compose.yml`, 'utf8');

test('scripts/docker-run.sh is the rendering of compose/docker-compose.yml', (t) => {
  t.is(
    readFileSync(`${root}scripts/docker-run.sh`, 'utf8'),
    renderDockerRun(composeText),
    'run: node bin/meshctl.js docker-run print > scripts/docker-run.sh',
  );
});

test('every default service is run with its hardening, none of the profiles', (t) => {
  const script = renderDockerRun(composeText);
  for (const name of ['postgres', 'edge-port', 'mesh-ca', 'mesh-keeper'])
    t.regex(script, new RegExp(`docker run -d --name usermesh-${name} \\\\`), name);
  t.regex(script, /docker run -d --name "usermesh-usersvc-\$i"/);
  t.regex(script, /for i in \$\(seq 2\); do\n\s+docker run -d --name "usermesh-edge-\$i"/);
  t.notRegex(script, /canary|prometheus|zipkin|observe/);
  // As many --read-only and --cap-drop ALL as services started.
  t.is(script.match(/--read-only/g)?.length, 6);
  t.is(script.match(/--cap-drop ALL/g)?.length, 6);
  t.is(script.match(/--security-opt no-new-privileges:true/g)?.length, 6);
  t.regex(script, /-p "\$\{EDGE_HTTP_PUBLISH:-127\.0\.0\.1:8000\}:8000"/);
  t.regex(script, /-v "\$ROOT\/secrets\/edge-public:\/run\/edge-public:ro"/);
});

test('bash reads the script: syntax, and a compose variable expands as compose would', (t) => {
  t.notThrows(() => execFileSync('bash', ['-n', `${root}scripts/docker-run.sh`]));
  const expand = (value: string, env: Record<string, string> = {}) =>
    execFileSync('bash', ['-c', `printf %s ${word(value)}`], {
      env: { PATH: process.env.PATH, ...env },
    }).toString();
  t.is(expand('${LOG_LEVEL:-info}'), 'info');
  t.is(expand('${LOG_LEVEL:-info}', { LOG_LEVEL: 'warn' }), 'warn');
  t.is(expand('a "quoted" `tick` \\ $$HOME'), 'a "quoted" `tick` \\ $HOME');
  t.is(expand("it's plain"), "it's plain");
  t.is(word('usermesh/edge:latest'), 'usermesh/edge:latest');
});

test('a compose key the renderer does not know is refused, naming it', (t) => {
  const withNewKey = composeText.replace(
    '  mesh-keeper:\n',
    '  mesh-keeper:\n    pids_limit: 100\n',
  );
  t.throws(() => renderDockerRun(withNewKey), {
    message: /mesh-keeper: key pids_limit is not rendered/,
  });
});
