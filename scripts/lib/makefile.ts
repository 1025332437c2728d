// The Makefile as data: its targets, each with its `## help`, the `##@ group` it sits under,
// and its recipe's lines. `make help` prints it (meshctl make-help); the architecture test
// checks that every recipe only calls meshctl, npm, ava or a bootstrap script.
export interface Target {
  name: string;
  help: string;
  group: string;
  recipe: string[];
}

export function parseMakefile(text: string): Target[] {
  const targets: Target[] = [];
  let group = '';
  let current: Target | undefined;
  for (const line of text.split('\n')) {
    const heading = /^##@\s*(.+)$/.exec(line);
    if (heading) {
      group = heading[1]!.trim();
      current = undefined;
      continue;
    }
    if (line.startsWith('\t')) {
      current?.recipe.push(line.slice(1));
      continue;
    }
    const rule = /^([a-z0-9_-]+):(?!=)[^#]*?(?:##\s*(.*))?$/.exec(line);
    if (rule) {
      current = { name: rule[1]!, help: rule[2]?.trim() ?? '', group, recipe: [] };
      targets.push(current);
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      current = undefined;
    }
  }
  return targets;
}

/** `make help`: the documented targets under their groups, one line each. */
export function makeHelp(targets: Target[]): string {
  const shown = targets.filter((t) => t.help);
  const width = Math.max(...shown.map((t) => t.name.length));
  const lines: string[] = [];
  for (const group of [...new Set(shown.map((t) => t.group))]) {
    lines.push(`${group || 'Make'}:`);
    for (const t of shown.filter((x) => x.group === group))
      lines.push(`  make ${t.name.padEnd(width)}  ${t.help}`);
    lines.push('');
  }
  return `${lines.join('\n')}Every mesh verb is also \`npx meshctl VERB\` (npx meshctl --help).`;
}
