// Finding and loading the Unicorn shared library, and checking its version.
//
// This is the only file (with engine.ts) that knows about the FFI. Unicorn
// 2.0.x sends every guest memory write down a slow path (10-15x slower), so a
// library older than 2.1 is refused with one line that says what to do.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import koffi, { type LibraryHandle, type TypeObject } from './koffi.ts';
import { packageRoot } from '../package-root.ts';

export const MIN_UNICORN = { major: 2, minor: 1 } as const;

export class UnicornUnavailableError extends Error {}

/** Where we look for libunicorn, in order of preference. */
export function unicornCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  if (env.UNICORN_LIB) candidates.push(env.UNICORN_LIB);
  // Fetched by scripts/setup-unicorn.mjs from Debian 13 (libunicorn2t64 2.1.1).
  const vendorRoot = join(packageRoot(), 'vendor', 'debian-trixie', 'root');
  if (existsSync(vendorRoot)) {
    for (const pkg of readdirSync(vendorRoot)) {
      if (!pkg.startsWith('libunicorn2')) continue;
      const libDir = join(vendorRoot, pkg, 'usr', 'lib');
      for (const triplet of existsSync(libDir) ? readdirSync(libDir) : []) {
        const so = join(libDir, triplet, 'libunicorn.so.2');
        if (existsSync(so)) candidates.push(so);
      }
    }
  }
  // System libraries: Homebrew on macOS, distribution packages elsewhere.
  if (process.platform === 'darwin') {
    candidates.push('/opt/homebrew/lib/libunicorn.2.dylib', '/usr/local/lib/libunicorn.2.dylib', 'libunicorn.2.dylib');
  } else if (process.platform === 'win32') {
    candidates.push('unicorn.dll');
  } else {
    candidates.push('libunicorn.so.2', 'libunicorn.so');
  }
  return candidates;
}

export interface UnicornLibrary {
  lib: LibraryHandle;
  path: string;
  version: { major: number; minor: number; patch: number };
}

let cached: UnicornLibrary | undefined;

const HOW_TO_FIX =
  'run `npm install` (it fetches Unicorn 2.1 into vendor/), or set UNICORN_LIB to a libunicorn >= 2.1 (macOS: `brew install unicorn`)';

/** Load the first usable Unicorn >= 2.1, or throw one clear line. */
export function loadUnicorn(): UnicornLibrary {
  if (cached) return cached;
  const tooOld: string[] = [];
  for (const path of unicornCandidates()) {
    let lib: LibraryHandle;
    try {
      lib = koffi.load(path);
    } catch {
      continue;
    }
    const ucVersion = lib.func('unsigned int uc_version(_Out_ unsigned int *major, _Out_ unsigned int *minor)');
    const major = [0];
    const minor = [0];
    const combined = ucVersion(major, minor) as number;
    const version = { major: major[0]!, minor: minor[0]!, patch: (combined >>> 8) & 0xff };
    if (version.major < MIN_UNICORN.major || (version.major === MIN_UNICORN.major && version.minor < MIN_UNICORN.minor)) {
      tooOld.push(`${path} is ${version.major}.${version.minor}`);
      continue;
    }
    cached = { lib, path, version };
    return cached;
  }
  if (tooOld.length > 0) {
    throw new UnicornUnavailableError(
      `Unicorn ${tooOld.join(', ')}; tslinux needs >= ${MIN_UNICORN.major}.${MIN_UNICORN.minor} (2.0.x is 10-15x slower): ${HOW_TO_FIX}`,
    );
  }
  throw new UnicornUnavailableError(`Unicorn CPU emulator library not found: ${HOW_TO_FIX}`);
}
