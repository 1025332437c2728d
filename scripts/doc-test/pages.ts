// The documentation as files: which pages there are, each page's purpose line, its relative
// links and the headings they may point at (GitHub's anchors). What scripts/doc-test/test/
// checks on every page without a mesh; the doc-test runs their commands.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from '../lib/paths.js';

/** The README, the root's other pages, and every page under docs/, repository-relative. */
export function docPages(root = ROOT): string[] {
  const under = (dir: string): string[] =>
    readdirSync(join(root, dir))
      .sort()
      .flatMap((name) => {
        const path = join(dir, name);
        if (statSync(join(root, path)).isDirectory()) return under(path);
        return name.endsWith('.md') ? [path] : [];
      });
  const top = ['README.md', 'CONTRIBUTING.md', 'SECURITY.md', 'CHANGELOG.md'];
  return [...top.filter((p) => existsSync(join(root, p))), ...under('docs')];
}

/** Markdown outside fenced blocks, line by line (fenced lines are blanked, numbering kept). */
export function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** Every anchor a page has: its headings' slugs, a repeated one numbered as GitHub does. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of prose(markdown)) {
    const m = /^#{1,6}\s+(.+?)\s*#*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n ? `${base}-${n}` : base);
  }
  return found;
}

/** A page's one-line purpose: the line after its title, alone in its paragraph. */
export function purposeLine(markdown: string): string | undefined {
  const lines = markdown.split('\n');
  if (!/^# \S/.test(lines[0] ?? '') || lines[1] !== '') return undefined;
  const line = lines[2] ?? '';
  const alone = (lines[3] ?? '') === '';
  return alone && /^[A-Z`*[]/.test(line) && !line.startsWith('#') ? line : undefined;
}

export interface Link {
  page: string;
  line: number;
  target: string;
}

/** The relative links of a page (not http:, mailto: or a bare #anchor of another site). */
export function relativeLinks(page: string, markdown: string): Link[] {
  const links: Link[] = [];
  prose(markdown).forEach((text, i) => {
    const plain = text.replace(/`[^`]*`/g, '');
    for (const m of plain.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      links.push({ page, line: i + 1, target });
    }
  });
  return links;
}

/** Why a relative link leads nowhere, or undefined when its file (and heading) exist. */
export function brokenLink(link: Link, root = ROOT): string | undefined {
  const [file, anchor] = link.target.split('#') as [string, string | undefined];
  const path = file ? normalize(join(dirname(link.page), file)) : link.page;
  if (path.startsWith('..')) return `${link.target} leaves the repository`;
  if (!existsSync(join(root, path))) return `${relative('.', path)} does not exist`;
  if (anchor === undefined || !path.endsWith('.md')) return undefined;
  const have = anchors(readFileSync(join(root, path), 'utf8'));
  return have.has(anchor) ? undefined : `${path} has no heading #${anchor}`;
}
