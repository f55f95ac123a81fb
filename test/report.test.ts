// --report: the HTML page about a run. What it collects (from real guest
// runs: busybox's shell forking applets, on both arches), that guest
// strings are escaped, that the CLI and the library write it, and that
// headless Chromium renders it without a console error into a screenshot
// that is not blank. Chromium is an optional tool (.ci/run installs
// Debian's chromium): without it the browser test skips, saying so, and
// fails under TSLINUX_REQUIRE_ALL=1.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportCollector, runSync } from '../src/index.ts';
import { esc, shown } from '../src/trace/report-template.ts';
import type { ReportData } from '../src/trace/report.ts';
import { ARCHES, ROOT, debianBin, guestPath, type GuestArch } from './helpers/e2e.ts';
import { CHROMIUM, pngInfo, visit } from './helpers/chromium.ts';
import { optionalTool } from './helpers/tools.ts';

const EVIL_PATH = '<script>alert(1)</script>';
const EVIL_ARG = '<img src=x onerror=alert(1)>';

/** A shell running four applets: one lists, two fail to open, the last (exec'ed by the shell) echoes a hostile argument. */
const SCRIPT = [
  '/bb/busybox ls / > /dev/null',
  '/bb/busybox cat /nonexistent',
  `/bb/busybox cat '${EVIL_PATH}'`,
  `/bb/busybox echo '${EVIL_ARG}' > out.txt`,
].join('; ');

let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-report-'));
});

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function runShell(arch: GuestArch): { report: ReportCollector; exitCode: number; stderr: string } {
  const dir = fs.mkdtempSync(path.join(work, `${arch}-`));
  const report = new ReportCollector();
  const busybox = debianBin(arch, 'busybox');
  const r = runSync(busybox, {
    argv0: 'sh',
    args: ['-c', SCRIPT],
    mounts: [
      { host: dir, guest: '/work' },
      { host: path.dirname(busybox), guest: '/bb', readOnly: true },
    ],
    cwd: '/work',
    env: { PATH: '/bin' },
    report,
  });
  return { report, exitCode: r.exitCode, stderr: Buffer.from(r.stderr ?? []).toString() };
}

describe.each(ARCHES)('%s: what the report collects from a busybox shell', (arch) => {
  let data: ReportData;
  let html: string;

  beforeAll(() => {
    const run = runShell(arch);
    expect(run.exitCode, run.stderr).toBe(0);
    data = run.report.data();
    html = run.report.html();
  });

  it('the process tree: the shell, its three applets (it execs the last command itself), how each ended', () => {
    const [shell, ...children] = data.processes;
    expect(shell!.firstArgv).toEqual(['sh', '-c', SCRIPT]);
    expect(shell!.execs).toEqual(['/bb/busybox']);
    expect(shell!.proc.argv).toEqual(['/bb/busybox', 'echo', EVIL_ARG]);
    expect(children).toHaveLength(3);
    for (const c of children) {
      expect(c.ppid).toBe(shell!.pid);
      expect(c.execs).toEqual(['/bb/busybox']);
    }
    expect(children.map((c) => c.proc.argv[1])).toEqual(['ls', 'cat', 'cat']);
    expect(children.map((c) => (c.proc.exitStatus! >> 8) & 0xff)).toEqual([0, 1, 1]);
    expect(html).toContain('exited with 1');
  });

  it('per-syscall counts add up to the total, and every task has its calls on the timeline', () => {
    const sum = data.syscalls.reduce((n, s) => n + s.calls, 0);
    expect(sum).toBe(data.totalCalls);
    expect(data.syscalls.reduce((n, s) => n + s.errors, 0)).toBe(data.totalErrors);
    expect(data.syscalls.find((s) => s.name === 'execve')?.calls).toBe(4);
    expect(data.tasks.reduce((n, t) => n + t.length + t.dropped, 0)).toBe(data.totalCalls);
    expect(new Set(data.tasks.map((t) => t.pid))).toEqual(new Set(data.processes.map((p) => p.pid)));
    for (const s of data.syscalls) expect(html).toContain(`data-name="${s.name}" data-calls="${s.calls}"`);
  });

  it('the errors, grouped by syscall and errno, with the failed calls decoded', () => {
    const enoent = data.errorGroups.find((g) => g.name === 'openat' && g.errno === 'ENOENT');
    expect(enoent?.count).toBe(2);
    expect(enoent?.examples[0]).toBe('openat(AT_FDCWD, "/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)');
    expect(data.errorLines.some((l) => l.line.includes('"/nonexistent"'))).toBe(true);
  });

  it('the files touched: absolute paths, failures, bytes written through an fd', () => {
    const byPath = new Map(data.files.map((f) => [f.path, f]));
    expect(byPath.get('/nonexistent')).toMatchObject({ calls: 1, errors: 1 });
    expect(byPath.get(`/work/${EVIL_PATH}`)).toMatchObject({ calls: 1, errors: 1 });
    const out = byPath.get('/work/out.txt');
    expect(out?.bytesWritten).toBe(EVIL_ARG.length + 1);
    expect(out?.ops.get('write')).toBe(1);
  });

  it('escapes every guest string: the hostile path and argument appear only as text', () => {
    expect(html).not.toContain(EVIL_PATH);
    expect(html).not.toContain(EVIL_ARG);
    expect(html).toContain(esc(EVIL_PATH));
    expect(html).toContain(esc(EVIL_ARG));
    // The page's own script is the only one.
    expect(html.match(/<script/gi)).toHaveLength(1);
  });
});

describe('guest strings for people', () => {
  it('shows control characters as \\xNN, decodes UTF-8 and escapes HTML', () => {
    expect(shown('a\x01b\x7f')).toBe('a\\x01b\\x7f');
    expect(shown(Buffer.from('é<', 'utf8').toString('latin1'))).toBe('é&lt;');
    expect(shown('\xff"')).toBe('\xff&quot;');
    expect(esc(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('writing the report', () => {
  it('runSync({ report: FILE }) writes the page when the guest is done', () => {
    const file = path.join(work, 'lib.html');
    const r = runSync(guestPath('x86_64', 'hello'), { report: file });
    expect(r.exitCode).toBe(0);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('data-name="writev"');
  });

  it('tslinux run --report FILE writes it; an unwritable FILE is a usage error', () => {
    const file = path.join(work, 'cli.html');
    const cli = path.join(ROOT, 'bin', 'tslinux.js');
    const ok = spawnSync(process.execPath, [cli, 'run', '--report', file, guestPath('aarch64', 'hello')], { encoding: 'utf8' });
    expect(ok.stdout).toBe('hello, world\n');
    expect(ok.status).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toContain('aarch64');
    const bad = spawnSync(process.execPath, [cli, 'run', '--report', path.join(work, 'no', 'such', 'dir.html'), guestPath('x86_64', 'hello')], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--report');
    expect(bad.stderr).toContain('ENOENT');
  });
});

describe.runIf(optionalTool('chromium', fs.existsSync(CHROMIUM), "apt-get install chromium, or set CHROMIUM"))('in headless Chromium', () => {
  it('renders with no console error, no request but its own, sorts the chart, and screenshots to a non-blank PNG', async () => {
    const file = path.join(work, 'browser.html');
    fs.writeFileSync(file, runShell('x86_64').report.html());
    const url = `file://${file}`;
    const page = await visit(url);
    try {
      expect(await page.evaluate<string>('document.title')).toContain('sh -c');
      expect(page.errors).toEqual([]);
      expect(page.dialogs).toEqual([]);
      expect(page.requests).toEqual([url]);
      expect(await page.evaluate<number>('document.querySelectorAll("section").length')).toBe(5);
      // Sorting by name moves the rows into alphabetical order.
      const namesInOrder = `Array.from(document.querySelectorAll('#chart .bar-row'))
        .sort((a, b) => a.transform.baseVal[0].matrix.f - b.transform.baseVal[0].matrix.f).map((g) => g.dataset.name)`;
      await page.evaluate('document.querySelector(\'button[data-sort="name"]\').click()');
      const names = await page.evaluate<string[]>(namesInOrder);
      expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
      // The file filter hides rows that do not match.
      const visible = await page.evaluate<number>(`(() => { const f = document.getElementById('file-filter');
        f.value = 'nonexistent'; f.dispatchEvent(new Event('input'));
        return Array.from(document.querySelectorAll('#files-table tbody tr')).filter((r) => !r.hidden).length; })()`);
      expect(visible).toBe(1);
      const png = await page.screenshot();
      const info = pngInfo(png);
      expect(info.width).toBeGreaterThan(0);
      expect(info.height).toBeGreaterThan(0);
      expect(info.colours).toBeGreaterThan(1);
      expect(page.errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
