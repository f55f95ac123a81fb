// Headless Chromium for tests, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4), so
// no npm package and no network port are needed. Debian's `chromium`
// package provides /usr/bin/chromium (.ci/run installs it); CHROMIUM
// overrides the path. We run as root in CI, hence --no-sandbox.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What happened while a page loaded: console errors, uncaught exceptions, dialogs, requests. */
export interface PageVisit {
  /** console.error/assert calls, uncaught exceptions and error log entries (CSP violations among them). */
  errors: string[];
  /** alert/confirm/prompt dialogs the page opened. */
  dialogs: string[];
  /** Every URL the page asked for, its own included. */
  requests: string[];
  /** Evaluate an expression in the page and return its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: { message: string }; sessionId?: string };

class DevTools {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private buffered = '';

  constructor(
    private readonly toBrowser: Writable,
    fromBrowser: Readable,
  ) {
    fromBrowser.setEncoding('utf8');
    fromBrowser.on('data', (chunk: string) => this.receive(chunk));
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const msg: Message = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    this.toBrowser.write(JSON.stringify(msg) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  /** Fail every call still waiting (the browser went away). */
  failAll(why: Error): void {
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }

  private receive(chunk: string): void {
    this.buffered += chunk;
    let end: number;
    while ((end = this.buffered.indexOf('\0')) >= 0) {
      const msg = JSON.parse(this.buffered.slice(0, end)) as Message;
      this.buffered = this.buffered.slice(end + 1);
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result ?? {});
      } else for (const l of this.listeners) l(msg);
    }
  }
}

/** Start Chromium, open `url`, wait for its load event. Throws (never skips) when Chromium is missing. */
export async function visit(url: string, viewport = { width: 1200, height: 900 }): Promise<PageVisit> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium package (.ci/run does), or set CHROMIUM`);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tslinux-chromium-'));
  const browser: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      `--window-size=${viewport.width},${viewport.height}`,
      'about:blank',
    ],
    // Its own process group, so that cleanup can end Chromium's helper processes too.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  browser.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const dt = new DevTools(browser.stdio[3] as Writable, browser.stdio[4] as Readable);
  browser.on('exit', (code) => dt.failAll(new Error(`chromium exited (${code}): ${stderr.slice(-2000)}`)));
  browser.on('error', (e) => dt.failAll(e));
  const cleanup = (): void => {
    try {
      process.kill(-browser.pid!, 'SIGKILL'); // the whole group: the browser and its helpers
    } catch {
      // already gone
    }
    try {
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // A helper still dying may recreate a file for a moment (ENOTEMPTY): a leftover temp directory is no test failure.
    }
  };
  try {
    const { targetId } = (await dt.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await dt.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const call = (method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> => dt.send(method, params, sessionId);
    const errors: string[] = [];
    const dialogs: string[] = [];
    const requests: string[] = [];
    let loaded: () => void = () => {};
    const load = new Promise<void>((resolve) => (loaded = resolve));
    dt.on((m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params ?? {};
      switch (m.method) {
        case 'Runtime.consoleAPICalled':
          if (p.type === 'error' || p.type === 'assert') errors.push(`console.${String(p.type)}: ${JSON.stringify(p.args)}`);
          break;
        case 'Runtime.exceptionThrown':
          errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
          break;
        case 'Log.entryAdded': {
          const entry = p.entry as { level: string; text: string; url?: string };
          if (entry.level === 'error') errors.push(`log: ${entry.text} ${entry.url ?? ''}`);
          break;
        }
        case 'Page.javascriptDialogOpening':
          dialogs.push(String(p.message));
          void call('Page.handleJavaScriptDialog', { accept: true });
          break;
        case 'Network.requestWillBeSent':
          requests.push(String((p.request as { url: string }).url));
          break;
        case 'Page.loadEventFired':
          loaded();
          break;
      }
    });
    for (const domain of ['Runtime', 'Log', 'Page', 'Network']) await call(`${domain}.enable`);
    await call('Page.navigate', { url });
    await load;
    return {
      errors,
      dialogs,
      requests,
      async evaluate<T>(expression: string): Promise<T> {
        const r = (await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
          result: { value: T };
          exceptionDetails?: unknown;
        };
        if (r.exceptionDetails) throw new Error(`evaluate(${expression}): ${JSON.stringify(r.exceptionDetails)}`);
        return r.result.value;
      },
      async screenshot(): Promise<Buffer> {
        const r = (await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true })) as { data: string };
        return Buffer.from(r.data, 'base64');
      },
      async close(): Promise<void> {
        await dt.send('Browser.close').catch(() => undefined);
        cleanup();
      },
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

// ---- PNG ----------------------------------------------------------------------------------------

export interface PngInfo {
  width: number;
  height: number;
  /** Distinct RGBA colours, counted up to `limit`. */
  colours: number;
}

/** Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) far enough to count its colours. */
export function pngInfo(png: Buffer, limit = 1000): PngInfo {
  const SIGNATURE = '89504e470d0a1a0a';
  if (png.subarray(0, 8).toString('hex') !== SIGNATURE) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const [depth, colourType, , , interlace] = [data[8], data[9], data[10], data[11], data[12]];
      if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`unsupported PNG: depth ${depth}, colour type ${colourType}, interlace ${interlace}`);
      }
      channels = colourType === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  let prev: Uint8Array = new Uint8Array(stride);
  const seen = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = unfilter(filter, line, prev, channels);
    for (let x = 0; x < stride && seen.size < limit; x += channels) {
      seen.add(((cur[x]! << 16) | (cur[x + 1]! << 8) | cur[x + 2]!) * 256 + (channels === 4 ? cur[x + 3]! : 255));
    }
    prev = cur;
  }
  return { width, height, colours: seen.size };
}

/** Undo one row's PNG filter (RFC 2083, section 6). */
function unfilter(filter: number, line: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(line.length);
  for (let i = 0; i < line.length; i++) {
    const a = i >= bpp ? out[i - bpp]! : 0;
    const b = prev[i]!;
    const c = i >= bpp ? prev[i - bpp]! : 0;
    let pred: number;
    switch (filter) {
      case 0:
        pred = 0;
        break;
      case 1:
        pred = a;
        break;
      case 2:
        pred = b;
        break;
      case 3:
        pred = (a + b) >> 1;
        break;
      case 4: {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        break;
      }
      default:
        throw new Error(`bad PNG filter ${filter}`);
    }
    out[i] = (line[i]! + pred) & 0xff;
  }
  return out;
}
