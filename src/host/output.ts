// Files tslinux itself writes once the guest has run: --report,
// --crash-report, --record-profile (and the library's report and
// recordProfile paths). They often sit in the current directory, which the
// guest may change: by the time the run ends, a path string could lead
// through a symlink or a renamed directory the guest put there to any file
// the user can write. So the place is fixed at launch: the directory is
// held by handle (src/host/index.ts) and the file is opened in it by name at
// the end, never following a symlink there.
import * as path from 'node:path';
import { hostAccess, type HostAccess, type HostHandle } from './index.ts';
import * as fs from 'node:fs';

export class OutputFile {
  private constructor(
    /** As the user gave it, for messages. */
    readonly path: string,
    private readonly host: HostAccess,
    private readonly dir: HostHandle,
    private readonly name: string,
  ) {}

  /** Fix where `file` is, now: its directory's real place (symlinks the user put in the path are the user's), held open. */
  static reserve(file: string): OutputFile {
    const host = hostAccess();
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      real = path.join(fs.realpathSync(path.dirname(path.resolve(file))), path.basename(file));
    }
    return new OutputFile(file, host, host.openRoot(path.dirname(real)), path.basename(real));
  }

  /** The file's text, or undefined when there is none. */
  read(): string | undefined {
    let fd: number;
    try {
      fd = this.host.openAt(this.dir, this.name, fs.constants.O_RDONLY);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  }

  write(data: string): void {
    const fd = this.host.openAt(this.dir, this.name, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o666);
    try {
      fs.writeFileSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Let go of the directory (the file is written, or will not be). */
  close(): void {
    this.host.closeHandle(this.dir);
  }
}

/** Write `data` to an output: through its reservation, or by its path when the caller fixed none. */
export function writeOutput(file: string | OutputFile, data: string): void {
  if (typeof file === 'string') fs.writeFileSync(file, data);
  else file.write(data);
}

/** An output's text now (undefined when it does not exist). */
export function readOutput(file: string | OutputFile): string | undefined {
  if (typeof file !== 'string') return file.read();
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
}
