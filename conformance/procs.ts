// A workload's processes as its /proc/*/status blocks tell them (a `cat` of each, a blank line
// between): the conformance suite and compose's own hardening checks read them alike.

export const PROC_STATUS = 'for f in /proc/[0-9]*/status; do cat "$f" 2>/dev/null; echo; done';

export interface Proc {
  name: string;
  uid: number;
  /** the effective capabilities, as /proc writes them: 16 hex digits */
  capEff: string;
  noNewPrivs: string;
}

export function parseProcs(out: string): Proc[] {
  return out
    .split('\n\n')
    .filter((block) => block.includes('Name:'))
    .map((block) => {
      const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, 'm').exec(block)?.[1] ?? '';
      return {
        name: field('Name'),
        uid: Number(field('Uid')),
        capEff: field('CapEff'),
        noNewPrivs: field('NoNewPrivs'),
      };
    });
}
