// execve's images: the first program's, and a staged execve's once its old
// engine has stopped (a layer of the Kernel; see kernel-state.ts).
import * as path from 'node:path';
import type { Arch } from '../arch/index.ts';
import { ElfError } from '../loader/elf.ts';
import { loadImage } from '../loader/image.ts';
import { mappedFileId, type Executable, type Interpreter } from '../loader/binfmt.ts';
import { LinuxError } from './errors.ts';
import { AddressSpace, holdsContent } from './memory.ts';
import { Process } from './process.ts';
import { Task } from './task.ts';
import type { FileSystem, Node } from './vfs/types.ts';
import { KernelProcesses } from './fork-exit.ts';
import { LaunchError } from './kernel-options.ts';

/** An execve that passed every check and waits for its engine to stop before replacing the image. */
export interface StagedExec {
  bytes: Uint8Array;
  arch: Arch;
  argv: string[];
  envp: string[];
  exePath: string;
  /** The file itself, for /proc/self/exe (held, not looked up again by name). */
  exeFile?: { node: Node; fs: FileSystem; path: string };
  execfn: string;
  /** The PT_INTERP loader binfmt.ts found, for a dynamically linked program. */
  interp?: Interpreter | null;
  /** The thread that called execve (it becomes the only one). */
  caller?: Task;
}

export abstract class KernelExec extends KernelProcesses {
  /** execve's point of no return: the image is replaced when the caller's engine stops (runSlice). */
  stageExec(p: Process, img: StagedExec): void {
    this.stagedExecs.set(p, img);
  }

  // ---- images -------------------------------------------------------------------

  /** The first image, from the program launch.ts resolved. */
  protected override load(p: Process, exe: Executable): void {
    try {
      this.installImage(p, { bytes: exe.bytes, arch: exe.arch, argv: exe.argv, envp: this.options.env, exePath: exe.file.path, exeFile: exe.file, execfn: exe.execfn, interp: exe.interp });
    } catch (e) {
      if (e instanceof ElfError) throw new LaunchError(`${exe.execfn}: ${e.message}`);
      throw e;
    }
  }

  /** Map a new image into `p` (whose engine and address space are fresh) and point its task at the entry. */
  protected installImage(p: Process, img: StagedExec): void {
    p.argv = img.argv;
    p.envp = img.envp;
    p.exePath = img.exePath;
    p.exeFile = img.exeFile ?? null;
    p.comm = path.posix.basename(img.exePath).slice(0, 15);
    const random16 = new Uint8Array(16);
    this.entropy.fill(random16);
    const image = loadImage(p, {
      bytes: img.bytes,
      argv: img.argv,
      envp: img.envp,
      execfn: img.execfn,
      random16,
      file: img.exeFile ? mappedFileId(img.exeFile) : undefined,
      interp: img.interp ? { bytes: img.interp.bytes, file: mappedFileId(img.interp.file) } : null,
    });
    p.auxv = image.auxv;
    p.cpu.enterAt(image.entry, image.sp);
    this.taskOf(p).pc = image.entry;
  }

  /**
   * The second half of execve, after the old image's engine has stopped:
   * a fresh engine and address space, the new image, close-on-exec fds,
   * handlers reset to SIG_DFL (ignored signals stay ignored; see execve(2)).
   */
  protected completeExec(p: Process, img: StagedExec): void {
    // The new engine takes over the old one's share of the budget: past the
    // point of no return there is nothing to fail. A shelved engine that
    // still maps this program (or its interpreter) has its code translated
    // already, and a share of its own.
    const images = img.interp ? [img.bytes, img.interp.bytes] : [img.bytes];
    const shelved = this.shelvedEngine(img.arch, (m) => m.loaded !== null && images.some((image) => holdsContent(image, m.loaded!)));
    if (p.cpu) this.retireProcessEngine(p.cpu, p.mem, shelved !== null);
    else this.retiredSpaces.push(p.mem);
    p.arch = img.arch;
    p.cpu = shelved?.engine ?? this.createEngine(img.arch);
    p.mem = new AddressSpace(img.arch.layout, p.cpu, p.mem.memoryLimit);
    if (shelved) p.mem.offerResident(shelved.segments);
    p.applyAddressSpaceLimit();
    p.mem.budget = this.memoryBudget;
    p.fds.closeOnExec();
    for (const [sig, action] of p.sigactions) {
      if (action.handler > 1n) p.sigactions.set(sig, { handler: 0n, flags: 0n, restorer: 0n, mask: 0n });
    }
    const task = this.onlyThreadLeft(p, img.caller);
    task.altstack = { sp: 0, flags: 2, size: 0 };
    task.clearChildTid = 0;
    task.robustList = { head: 0, len: 0 };
    task.context?.free();
    task.context = null;
    p.loadedThread = task;
    p.sigreturnPage = 0;
    try {
      this.installImage(p, img);
    } catch (e) {
      // Past the point of no return, a failure kills the process (as Linux sends SIGSEGV).
      if (!(e instanceof LinuxError) && !(e instanceof ElfError)) throw e;
      p.killBySignal(11, false);
    } finally {
      p.mem.releaseResident();
    }
    const parentWaiting = p.vforkDone;
    if (parentWaiting) {
      p.vforkDone = null;
      parentWaiting.notify();
    }
  }
}
