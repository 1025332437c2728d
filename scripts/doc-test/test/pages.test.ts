// The documentation's shape, checked on every page without a mesh: a short README, a purpose
// line atop each page of docs/, and no relative link (or heading it names) that leads nowhere.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { ROOT } from '../../lib/paths.js';
import { anchors, brokenLink, docPages, purposeLine, relativeLinks, slug } from '../pages.js';

const read = (page: string) => readFileSync(`${ROOT}${page}`, 'utf8');

test('anchors as GitHub makes them: punctuation dropped, repeats numbered', (t) => {
  t.is(slug("The install's secrets: `secrets/`"), 'the-installs-secrets-secrets');
  t.is(
    slug('Prometheus and traces: `make up OBSERVE=1`'),
    'prometheus-and-traces-make-up-observe1',
  );
  t.is(slug('1. Bring it up'), '1-bring-it-up');
  t.deepEqual(
    [...anchors('# A\n\n## Settings\n\n```\n## not a heading\n```\n\n## Settings\n')],
    ['a', 'settings', 'settings-1'],
  );
});

test('a purpose line is the line after the title, alone', (t) => {
  t.is(purposeLine('# T\n\nWhat this page is for.\n\nMore.'), 'What this page is for.');
  t.is(purposeLine('# T\n\nA paragraph that\ngoes on.\n'), undefined);
  t.is(purposeLine('# T\n\n## Section\n'), undefined);
  t.is(purposeLine('Untitled\n'), undefined);
});

test('README.md is at most 250 lines', (t) => {
  const lines = read('README.md').split('\n').length;
  t.true(lines <= 250, `README.md has ${lines} lines`);
});

test('every page of docs/ opens with its purpose, in one line', (t) => {
  const pages = docPages().filter((p) => p.startsWith('docs/'));
  t.true(pages.length >= 10, pages.join(' '));
  const missing = pages.filter((p) => !purposeLine(read(p)));
  t.deepEqual(missing, [], 'pages with no purpose line under their title');
});

test('every relative link in README.md and docs/ leads to a file, and to a heading it names', (t) => {
  const broken = docPages().flatMap((page) =>
    relativeLinks(page, read(page)).flatMap((link) => {
      const why = brokenLink(link);
      return why ? [`${page}:${link.line}: ${why}`] : [];
    }),
  );
  t.deepEqual(broken, []);
});
