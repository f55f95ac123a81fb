import type { CpuArch } from './cpu.ts';
import { aarch64 } from './aarch64.ts';
import type { Arch } from './types.ts';
import { x86_64 } from './x86_64.ts';

export type { Arch } from './types.ts';
export const ARCHES: Readonly<Record<CpuArch, Arch>> = { x86_64, aarch64 };
