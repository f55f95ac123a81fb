// CPU engines made by a test file, closed after each test, and the buffers
// they map kept referenced until then: Unicorn holds a raw pointer, and a
// buffer no JavaScript variable needs any more may be collected while the
// engine still runs on it (seen: preempt.test's code page freed mid-run, a
// fault, once the test shared its worker with other files).
import { afterEach } from 'vitest';
import { CpuEngine, type CpuArch } from '../../src/cpu/engine.ts';

export interface EngineKeeper {
  /** A pre-emptible engine whose syscall hook calls `onSyscall`. */
  engine(arch: CpuArch, onSyscall: (cpu: CpuEngine) => void): CpuEngine;
  /** Map `bytes` into `cpu`, keeping them referenced until the engine is closed. */
  map(cpu: CpuEngine, addr: number, bytes: Uint8Array, prot: number): void;
}

/** Call at the top level of a test file. */
export function keepEngines(): EngineKeeper {
  let engines: CpuEngine[] = [];
  let kept: Uint8Array[] = [];
  afterEach(() => {
    for (const e of engines) e.close();
    engines = [];
    kept = [];
  });
  return {
    engine(arch, onSyscall) {
      const cpu: CpuEngine = new CpuEngine(arch, { onSyscall: () => onSyscall(cpu), preemptible: true });
      engines.push(cpu);
      return cpu;
    },
    map(cpu, addr, bytes, prot) {
      kept.push(bytes);
      cpu.mapHost(addr, bytes, prot);
    },
  };
}
