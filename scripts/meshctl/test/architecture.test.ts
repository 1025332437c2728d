// The shape the operator side keeps: meshctl's commands over one library, tool folders that do
// not reach into each other, a Makefile whose recipes only call a program, and a service with
// no import circle. Read from the files themselves; nothing runs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import test from 'ava';
import { parseMakefile } from '../../lib/makefile.js';

const root = new URL('../../..', import.meta.url).pathname;

function tsFiles(dir: string, withTests = false): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || (!withTests && (name === 'test' || name === 'fixtures')))
      return [];
    if (statSync(path).isDirectory()) return tsFiles(path, withTests);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The files a TypeScript file imports from this repository (type imports too), as paths from the root. */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g), // a dynamic import is an edge too
  ].map((m) => m[1]!);
  return specs.map((s) => relative(root, resolve(dirname(file), s.replace(/\.js$/, '.ts'))));
}

/** scripts/<folder>/...: which folder of scripts/ a path is in. */
const folderOf = (path: string) => /^scripts\/([^/]+)\//.exec(path)?.[1];

test('a tool folder imports only itself and scripts/lib; lib imports only lib; a command no other command', (t) => {
  const wrong: string[] = [];
  for (const file of tsFiles(`${root}scripts`, true)) {
    const from = relative(root, file);
    const folder = folderOf(from);
    for (const to of localImports(file)) {
      const target = folderOf(to);
      const inTests = from.includes('/test/');
      if (!to.startsWith('scripts/')) {
        // Only tests reach out of scripts/ (a token made the service's way, say).
        if (!inTests) wrong.push(`${from} -> ${to}`);
        continue;
      }
      if (folder === 'lib' && target !== 'lib') wrong.push(`${from} -> ${to} (lib is the bottom)`);
      else if (folder === 'meshctl') {
        const command = /^scripts\/meshctl\/commands\/(?!index\.ts)/;
        if (command.test(from) && command.test(to))
          wrong.push(`${from} -> ${to} (a command imports another)`);
      } else if (target !== folder && target !== 'lib')
        wrong.push(`${from} -> ${to} (a tool reaches into another)`);
    }
  }
  t.deepEqual(wrong, []);
});

test('one home for what several tools need: the repository root and the state folder (lib/paths.ts), .env (lib/settings.ts), the engine asked what it is (lib/docker.ts)', (t) => {
  // Each was once computed in several files under as many spellings (issue 34): a copy here
  // is the next one to drift.
  const homes: { copy: RegExp; home: string }[] = [
    { copy: /import\.meta\.url/, home: 'scripts/lib/paths.ts' },
    { copy: /\$\{ROOT\}\.(mesh|env)\b/, home: 'scripts/lib/paths.ts or scripts/lib/settings.ts' },
    { copy: /\['version', '--format'/, home: 'scripts/lib/docker.ts' },
  ];
  const wrong = tsFiles(`${root}scripts`).flatMap((file) => {
    const from = relative(root, file);
    const text = readFileSync(file, 'utf8');
    return homes
      .filter(({ copy, home }) => copy.test(text) && !home.split(' or ').includes(from))
      .map(({ copy, home }) => `${from} has ${copy.source}: use ${home}`);
  });
  t.deepEqual(wrong, []);
});

test('every Makefile recipe is one line that calls meshctl, npm, ava, a bootstrap script or other targets of make: no shell logic', (t) => {
  const allowed =
    /^@?(\$\(MESHCTL\) |npm (ci|test|run [a-z:-]+)$|(COMPOSE_CLI=v1 )?npx ava |scripts\/ci\.sh$|scripts\/swarm\/lab\.sh (up|down)$|scripts\/kubernetes-lab\/lab\.sh (build|up|down)$|\$\(MAKE\) --no-print-directory -k [a-z0-9 -]+$)/;
  const shellLogic = /[;|&`<>]|\$\$|\bif\b|\bthen\b/;
  const targets = parseMakefile(readFileSync(`${root}Makefile`, 'utf8'));
  t.true(targets.length > 30, 'the Makefile was read');
  const wrong = targets.flatMap((target) => {
    if (target.recipe.length > 1) return [`${target.name}: ${target.recipe.length} lines`];
    return target.recipe
      .filter((line) => !allowed.test(line) || shellLogic.test(line))
      .map((line) => `${target.name}: ${line}`);
  });
  t.deepEqual(wrong, []);
});

test('every documented make target that uses the mesh is a meshctl command', (t) => {
  const targets = parseMakefile(readFileSync(`${root}Makefile`, 'utf8'));
  const mesh = targets.filter(
    (x) => x.help && ['Use the mesh', 'Change it', 'Inspect it'].includes(x.group),
  );
  t.true(mesh.length >= 18);
  t.deepEqual(
    mesh.filter((x) => !/^@?\$\(MESHCTL\) /.test(x.recipe[0] ?? '')).map((x) => x.name),
    [],
  );
});

/** The import circles among these files (paths from the root): one per edge that closes one. */
function importCircles(files: string[]): string[] {
  const edges = new Map(files.map((f) => [f, localImports(`${root}${f}`)]));
  const done = new Set<string>();
  const circles: string[] = [];
  // Depth first; a file met again while still on the path closes a circle.
  const visit = (file: string, path: string[]) => {
    if (path.includes(file))
      return void circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
    if (done.has(file)) return;
    for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
    done.add(file);
  };
  for (const f of files) visit(f, []);
  return circles;
}

test('the service has no import circle', (t) => {
  const files = tsFiles(`${root}user-service/src`).map((f) => relative(root, f));
  t.true(files.length > 10, 'the service was read');
  t.deepEqual(importCircles(files), []);
});

test('the operator side has no import circle (a dynamic import counts)', (t) => {
  const files = tsFiles(`${root}scripts`).map((f) => relative(root, f));
  t.true(files.length > 50, 'scripts/ was read');
  t.deepEqual(importCircles(files), []);
});
