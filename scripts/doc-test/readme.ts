// The pages' shell commands and what they say those commands answer: read from README.md and
// docs/ themselves, so that the doc-test (compose/test/readme.test.ts) runs exactly what a
// reader copies.
//
// What counts, on every page of DOC_PAGES:
// - each ```sh block is run in one shell, command by command (a line ending in `\` goes on),
//   unless the line before it is `<!-- doc-test: not run: why, and what covers it -->`;
// - a comment line under a command that starts with a status and/or JSON is what it answers:
//   `# 201 {"ok":true,"username":"alice","uuid":"0C3F...",...}`. Strings with `...` and the
//   fields that differ from run to run (RUN_DEPENDENT) are only checked to be there; a closing
//   `...}` allows more fields. Every JSON line the command prints must match;
// - a plain block right after `<!-- doc-test: output -->` is what the last command before it
//   prints: each of its lines must appear in order, numbers, addresses and container numbers
//   aside;
// - a command whose comment says `(Ctrl-C ends)` runs until it has printed, then gets Ctrl-C.

/**
 * Every page with shell blocks to run, in the order the doc-test runs them: each page's blocks
 * start from where the one before left the mesh, as a reader going from page to page would.
 */
export const DOC_PAGES = [
  'README.md',
  'docs/tutorial.md',
  'docs/keeping-it-running.md',
  'docs/meshctl.md',
  'docs/public-edge.md',
  'docs/architecture.md',
  'docs/observability.md',
  'docs/operations.md',
  'docs/reference/api.md',
  'docs/kubernetes.md',
];

/** Fields whose value differs from run to run: present, a string, value not compared. */
export const RUN_DEPENDENT = new Set([
  'uuid',
  'hostname',
  'resolvedname',
  'version',
  'request_id',
  'token',
]);

export interface Expected {
  status?: number;
  json?: { fields: Record<string, unknown>; open: boolean };
  /** Lines the output must contain in order (a sample output block). */
  lines?: string[];
}

export interface Command {
  text: string;
  line: number; // in the README, 1-based
  interrupt: boolean;
  expected: Expected;
}

export interface Block {
  section: string;
  line: number;
  commands: Command[];
}

export interface NotRun {
  line: number;
  reason: string;
}

const NOT_RUN = /^<!-- doc-test: not run: (.+) -->$/;

/** A page's ```sh blocks, in order: those the doc-test runs, and those marked not run. */
export function pageBlocks(markdown: string): { blocks: Block[]; notRun: NotRun[] } {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  const notRun: NotRun[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,4} (.+)$/.exec(lines[i]!);
    if (heading) section = heading[1]!.trim();
    if (lines[i]!.startsWith('<!-- doc-test: not')) {
      const reason = NOT_RUN.exec(lines[i]!.trim())?.[1];
      if (!reason || lines[i + 1]?.trim() !== '```sh')
        throw new Error(
          `line ${i + 1}: a not-run marker says why (<!-- doc-test: not run: why -->) and precedes a sh block`,
        );
      notRun.push({ line: i + 2, reason });
      for (i += 2; i < lines.length && lines[i]!.trim() !== '```'; i++);
    } else if (/^\s*```sh$/.test(lines[i]!)) {
      // A block may be indented, inside a list item: its lines lose the fence's indentation.
      const indent = lines[i]!.indexOf('`');
      const start = i + 1;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++)
        body.push(lines[i]!.slice(indent));
      blocks.push({ section, line: start, commands: parseCommands(body, start + 1) });
    } else if (lines[i]!.trim() === '<!-- doc-test: output -->') {
      const last = blocks.at(-1)?.commands.at(-1);
      if (!last || !lines[i + 1]?.startsWith('```'))
        throw new Error(
          `line ${i + 1}: an output marker must follow a sh block and precede a fenced block`,
        );
      const sample: string[] = [];
      for (i += 2; i < lines.length && lines[i] !== '```'; i++)
        if (lines[i]!.trim()) sample.push(lines[i]!);
      last.expected.lines = sample;
    }
  }
  return { blocks, notRun };
}

/** A sh block's commands; `firstLine` is the README line of its first line. */
export function parseCommands(body: string[], firstLine = 1): Command[] {
  const commands: Command[] = [];
  for (let i = 0; i < body.length; i++) {
    const line = body[i]!;
    if (!line.trim()) continue;
    if (line.trim().startsWith('#')) {
      const expected = parseExpected(line.trim().replace(/^#\s*/, ''));
      const last = commands.at(-1);
      if (expected && last) Object.assign(last.expected, expected);
      continue;
    }
    let text = line;
    const at = i;
    while (text.endsWith('\\') && i + 1 < body.length) text = `${text}\n${body[++i]}`;
    commands.push({
      text,
      line: firstLine + at,
      interrupt: /\(Ctrl-C ends\)/.test(text),
      expected: {},
    });
  }
  return commands;
}

/** `201 {...}`, `{...}` or `404` as an expectation; undefined for a remark. */
export function parseExpected(comment: string): Expected | undefined {
  const m = /^(\d{3})?\s*([{].*)?$/.exec(comment);
  if (!m || (!m[1] && !m[2])) return undefined;
  return {
    ...(m[1] ? { status: Number(m[1]) } : {}),
    ...(m[2] ? { json: parseJsonSample(m[2]) } : {}),
  };
}

/** JSON as the README writes it: `...` for what it leaves out. */
export function parseJsonSample(text: string): { fields: Record<string, unknown>; open: boolean } {
  const open = /,\s*\.\.\.\s*\}$/.test(text) || /^\{\s*\.\.\.\s*\}$/.test(text);
  const closed = text.replace(/,\s*\.\.\.\s*\}$/, '}').replace(/^\{\s*\.\.\.\s*\}$/, '{}');
  try {
    return { fields: JSON.parse(closed) as Record<string, unknown>, open };
  } catch {
    throw new Error(
      `the README's sample answer is not JSON (with ... for what it leaves out): ${text}`,
    );
  }
}

/** Why `actual` does not match the README's sample, or undefined when it does. */
export function jsonMismatch(
  expected: { fields: Record<string, unknown>; open: boolean },
  actual: unknown,
): string | undefined {
  if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
    return 'not a JSON object';
  const got = actual as Record<string, unknown>;
  for (const [key, want] of Object.entries(expected.fields)) {
    if (!(key in got)) return `no "${key}"`;
    const wildcard = RUN_DEPENDENT.has(key) || (typeof want === 'string' && want.includes('...'));
    if (
      wildcard ? typeof got[key] !== typeof want : JSON.stringify(got[key]) !== JSON.stringify(want)
    ) {
      return `"${key}" is ${JSON.stringify(got[key])}, the page says ${JSON.stringify(want)}`;
    }
  }
  const extra = Object.keys(got).filter((k) => !(k in expected.fields));
  if (!expected.open && extra.length) return `fields the README does not show: ${extra.join(', ')}`;
  return undefined;
}

/**
 * A sample output line as a pattern: numbers (and addresses, durations) may differ or be "-", runs of
 * spaces are any whitespace, `usermesh_usersvc_1` is any replica of compose v1 or v2, and a
 * git commit (a version: scripts/lib/version.ts) any version.
 */
export function linePattern(sample: string): RegExp {
  const parts = sample
    .trim()
    .split(
      /(\s+|usermesh[-_]usersvc[-_]\d+|\b[0-9a-f]{7,40}(?:\.dirty-[0-9a-f]+)?\b|\d+(?:\.\d+)*(?::\d+)?(?: (?:ms|h))?)/,
    );
  const source = parts
    .filter((p) => p !== '')
    .map((p) => {
      if (/^\s+$/.test(p)) return '\\s+';
      if (/^usermesh[-_]usersvc[-_]\d+$/.test(p)) return 'usermesh[-_]usersvc[-_]\\d+';
      if (/^[0-9a-f]{7,40}(?:\.dirty-[0-9a-f]+)?$/.test(p)) return '\\S+';
      // A figure (with its unit), or "-" where there is none yet (the edge's latency before its first stats flush).
      if (/^\d/.test(p)) return `(?:\\d+(?:\\.\\d+)*(?::\\d+)?${/ (ms|h)$/.exec(p)?.[0] ?? ''}|-)`;
      return p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(source);
}

/** Why `output` does not show the sample's lines in order, or undefined when it does. */
export function linesMismatch(sample: string[], output: string): string | undefined {
  const got = output.split('\n');
  let at = 0;
  for (const line of sample) {
    const pattern = linePattern(line);
    while (at < got.length && !pattern.test(got[at]!)) at++;
    if (at === got.length) return `no line like: ${line.trim()}`;
    at++;
  }
  return undefined;
}
