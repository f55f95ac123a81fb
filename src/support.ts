// The supported-syscall table, generated from the declarations and the
// per-arch number tables (`tslinux syscalls`, and the README's table).
import { ARCHES } from './arch/index.ts';
import { FAMILIES } from '../syscalls/index.ts';

export function supportTable(only?: 'x86_64' | 'aarch64'): string {
  const arches = only ? [ARCHES[only]] : [ARCHES.x86_64, ARCHES.aarch64];
  const header = `| syscall | family | ${arches.map((a) => a.name).join(' | ')} | notes |`;
  const rule = `|---|---|${arches.map(() => '---|').join('')}---|`;
  const rows: string[] = [];
  const counts = arches.map(() => 0);
  const decls = FAMILIES.flatMap((f) => f.syscalls.map((d) => ({ d, family: f.family }))).sort((a, b) =>
    a.d.name.localeCompare(b.d.name),
  );
  for (const { d, family } of decls) {
    const cells = arches.map((a, i) => {
      const nr = a.syscallNumbers[d.name];
      if (nr === undefined) return '—';
      counts[i]!++;
      return String(nr);
    });
    rows.push(`| \`${d.name}\` | ${family} | ${cells.join(' | ')} | ${d.note ?? ''} |`);
  }
  const summary = arches.map((a, i) => `${a.name}: ${counts[i]} of ${Object.keys(a.syscallNumbers).length}`).join('; ');
  return [`Implemented syscalls (${summary}). A number is the syscall number on that arch; — means the arch has no such call.`, '', header, rule, ...rows, ''].join('\n');
}

export interface SupportEntry {
  nr: number;
  name: string;
  status: 'implemented' | 'missing';
  family: string | null;
  note: string | null;
}

/** Every syscall number of an arch, implemented or not (`tslinux syscalls --arch A --json`). */
export function supportEntries(arch: 'x86_64' | 'aarch64'): SupportEntry[] {
  const a = ARCHES[arch];
  const declared = new Map(FAMILIES.flatMap((f) => f.syscalls.map((d) => [d.name, { family: f.family, note: d.note ?? null }] as const)));
  return Object.entries(a.syscallNames)
    .map(([nr, name]) => {
      const d = declared.get(name);
      return { nr: Number(nr), name, status: d ? 'implemented' : 'missing', family: d?.family ?? null, note: d?.note ?? null } as SupportEntry;
    })
    .sort((x, y) => x.nr - y.nr);
}
