// Where trace text goes: a host fd, written in large chunks for files (one
// write(2) per 64 KiB instead of one per line) and line by line for stderr,
// so the trace stays in order with what the guest writes to the same
// terminal.
import * as fs from 'node:fs';

export interface LineWriter {
  /** Text ending in a newline (one or more lines). */
  write(text: string): void;
  flush(): void;
  /** Flush, and close the fd if the writer opened it. */
  close(): void;
}

const CHUNK = 64 * 1024;

/** Write all of `data` to `fd`, retrying short writes and EAGAIN (a non-blocking pipe). */
function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(fd, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

export class FdWriter implements LineWriter {
  private buf = '';
  private closed = false;

  /** `buffered`: keep up to 64 KiB before writing (files); otherwise write every line at once (stderr). */
  constructor(
    private readonly fd: number,
    private readonly buffered: boolean,
    private readonly owned: boolean,
  ) {}

  /** A writer for a new file (truncated, as strace -o does). */
  static open(path: string): FdWriter {
    return new FdWriter(fs.openSync(path, 'w'), true, true);
  }

  write(text: string): void {
    if (this.closed) return;
    if (!this.buffered) {
      writeAll(this.fd, Buffer.from(text, 'utf8'));
      return;
    }
    this.buf += text;
    if (this.buf.length >= CHUNK) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    const data = Buffer.from(this.buf, 'utf8');
    this.buf = '';
    writeAll(this.fd, data);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.owned) fs.closeSync(this.fd);
  }
}

/** Collects text in memory (tests, the library). */
export class MemoryWriter implements LineWriter {
  text = '';
  write(text: string): void {
    this.text += text;
  }
  flush(): void {}
  close(): void {}
  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}
