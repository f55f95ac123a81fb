// The guest's view of the host terminal: its termios settings and its
// foreground process group. Changes that matter to how the host tty
// delivers input (canonical mode and echo) are applied to the real
// terminal through Node's raw mode, so a shell's line editor works and
// Ctrl-C reaches the foreground job (see termios(3)).
import { hostIsatty as isatty } from '../host/libc.ts';

const ICANON = 0x2;
const ECHO = 0x8;
const LFLAG = 12;
export const TERMIOS_SIZE = 36;

/** struct termios as Linux's default tty leaves it (c_iflag, c_oflag, c_cflag, c_lflag, c_line, c_cc[19]). */
export function defaultTermios(): Uint8Array {
  const b = new Uint8Array(TERMIOS_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x500, true); // ICRNL | IXON
  v.setUint32(4, 0x5, true); // OPOST | ONLCR
  v.setUint32(8, 0xbf, true); // B38400 | CS8 | CREAD
  v.setUint32(LFLAG, 0x8a3b, true); // ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
  b.set([3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0], 17);
  return b;
}

export class Terminal {
  termios = defaultTermios();
  /** TIOCSPGRP's group; 0 until a guest sets one. */
  foregroundPgrp = 0;
  /** TIOCSWINSZ's size, which TIOCGWINSZ reports from then on (the host's until a guest sets one). */
  windowSize: { rows: number; cols: number; xpixel: number; ypixel: number } | null = null;
  private raw = false;

  constructor(
    /** Put the host tty in or out of raw mode; absent when the host has no tty to change. */
    private readonly setHostRaw: ((raw: boolean) => void) | null = hostRawMode(),
  ) {}

  /** TCSETS*: keep the settings and mirror ICANON/ECHO onto the host tty. */
  set(termios: Uint8Array): void {
    this.termios = termios.slice(0, TERMIOS_SIZE);
    const lflag = new DataView(this.termios.buffer).getUint32(LFLAG, true);
    const wantRaw = (lflag & (ICANON | ECHO)) !== (ICANON | ECHO);
    if (wantRaw !== this.raw && this.setHostRaw) {
      this.setHostRaw(wantRaw);
      this.raw = wantRaw;
    }
  }

  /** Leave the host terminal as we found it. */
  restore(): void {
    if (this.raw && this.setHostRaw) this.setHostRaw(false);
    this.raw = false;
  }
}

function hostRawMode(): ((raw: boolean) => void) | null {
  if (!isatty(0)) return null;
  return (raw) => {
    const stdin = process.stdin as NodeJS.ReadStream & { setRawMode?: (m: boolean) => void };
    stdin.setRawMode?.(raw);
  };
}
