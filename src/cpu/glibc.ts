// glibc, for the engine's few host calls of its own: the block stop's
// executable page and clock (block-stop.ts), the code buffer's mincore and
// madvise (code-buffer.ts). Loaded once; null off Linux or without glibc
// (musl names its library otherwise), where those features are off.
import koffi, { type LibraryHandle } from './koffi.ts';

let lib: LibraryHandle | null | undefined;

export function glibc(): LibraryHandle | null {
  if (lib !== undefined) return lib;
  lib = null;
  if (process.platform !== 'linux') return null;
  try {
    lib = koffi.load('libc.so.6');
  } catch {
    lib = null;
  }
  return lib;
}
