// Numeric values from the Unicorn 2.1 C headers (unicorn.h, x86.h, arm64.h),
// read off by compiling a program against libunicorn-dev 2.1.1. Unicorn keeps
// these stable across 2.x releases.

export const UC_ARCH_ARM64 = 2;
export const UC_ARCH_X86 = 4;
export const UC_MODE_ARM = 0;
export const UC_MODE_64 = 8;

export const UC_HOOK_INTR = 1 << 0;
export const UC_HOOK_INSN = 1 << 1;
export const UC_HOOK_CODE = 1 << 2;
export const UC_HOOK_BLOCK = 1 << 3;
export const UC_HOOK_MEM_INVALID = 0x3f0; // READ/WRITE/FETCH x UNMAPPED/PROT

export const UC_MEM_READ_UNMAPPED = 19;
export const UC_MEM_WRITE_UNMAPPED = 20;
export const UC_MEM_FETCH_UNMAPPED = 21;
export const UC_MEM_WRITE_PROT = 22;
export const UC_MEM_READ_PROT = 23;
export const UC_MEM_FETCH_PROT = 24;

export const UC_ERR_INSN_INVALID = 10;
export const UC_ERR_READ_UNALIGNED = 16;
export const UC_ERR_WRITE_UNALIGNED = 17;
export const UC_ERR_FETCH_UNALIGNED = 18;
export const UC_ERR_EXCEPTION = 21;

/** UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1) */
export const UC_CTL_CPU_MODEL_WRITE = 0x44000007;
/** uc_query_type: UC_QUERY_MODE = 1, PAGE_SIZE, ARCH, TIMEOUT. */
export const UC_QUERY_TIMEOUT = 4;
/** UC_CTL_WRITE(UC_CTL_TCG_BUFFER_SIZE, 1): the translated-code buffer's size, before the engine's first use. */
export const UC_CTL_TCG_BUFFER_SIZE_WRITE = 0x4400000d;
/** UC_CTL_WRITE(UC_CTL_TB_REMOVE_CACHE, 2): drop the code translated from [begin, end) (two uint64_t). */
export const UC_CTL_TB_REMOVE_CACHE_WRITE = 0x48000009;
/** UC_CTL_WRITE(UC_CTL_TB_FLUSH, 0): drop all translated code (between runs only: see code-buffer.ts). */
export const UC_CTL_TB_FLUSH_WRITE = 0x4000000a;
/** UC_CTL_WRITE(UC_CTL_TLB_FLUSH, 0): empty the soft TLB (QEMU resizes it only then). */
export const UC_CTL_TLB_FLUSH_WRITE = 0x4000000b;
/** UC_CTL_WRITE(UC_CTL_TLB_TYPE, 1): UC_TLB_CPU = 0 (the default) or UC_TLB_VIRTUAL = 1. */
export const UC_CTL_TLB_TYPE_WRITE = 0x4400000c;
export const UC_CPU_ARM64_A72 = 2;
export const UC_CPU_ARM64_MAX = 3;

export const UC_X86_INS_SYSCALL = 699;
export const UC_X86_REG_EFLAGS = 25;
export const UC_X86_REG_RAX = 35;
export const UC_X86_REG_RBP = 36;
export const UC_X86_REG_RBX = 37;
export const UC_X86_REG_RCX = 38;
export const UC_X86_REG_RDI = 39;
export const UC_X86_REG_RDX = 40;
export const UC_X86_REG_RIP = 41;
export const UC_X86_REG_CR4 = 54;
export const UC_X86_REG_RSI = 43;
export const UC_X86_REG_RSP = 44;
export const UC_X86_REG_R8 = 106;
export const UC_X86_REG_R9 = 107;
export const UC_X86_REG_R10 = 108;
export const UC_X86_REG_R11 = 109;
export const UC_X86_REG_R12 = 110;
export const UC_X86_REG_R13 = 111;
export const UC_X86_REG_R14 = 112;
export const UC_X86_REG_R15 = 113;
export const UC_X86_REG_FS_BASE = 250;
export const UC_X86_REG_GS_BASE = 251;

/** X0..X28 are consecutive; X29 (fp) and X30 (lr) are not. */
export const UC_ARM64_REG_X0 = 199;
export const UC_ARM64_REG_X29 = 1;
export const UC_ARM64_REG_X30 = 2;
export const UC_ARM64_REG_NZCV = 3;
export const UC_ARM64_REG_SP = 4;
export const UC_ARM64_REG_PC = 260;
export const UC_ARM64_REG_TPIDR_EL0 = 262;
export const UC_ARM64_REG_CP_REG = 290;

/** QEMU's aarch64 exception numbers, as UC_HOOK_INTR reports them. */
export const ARM64_EXCP_UDEF = 1;
export const ARM64_EXCP_SWI = 2;
export const ARM64_EXCP_BKPT = 7;

// Signal frames (src/arch/sigframe-*.ts): FPU/SIMD state and the full flags.
/** XMM0..XMM15 are consecutive (16 bytes each through readRaw/writeRaw). */
export const UC_X86_REG_XMM0 = 122;
/** ST0..ST7 are consecutive and relative to the x87 TOP, as fxsave stores them (10 bytes each). */
export const UC_X86_REG_ST0 = 114;
export const UC_X86_REG_FPSW = 31;
export const UC_X86_REG_FPCW = 246;
/** The full 16-bit tag word (2 bits per physical register; 3 = empty). */
export const UC_X86_REG_FPTAG = 247;
export const UC_X86_REG_MXCSR = 249;
export const UC_X86_REG_RFLAGS = 253;
export const UC_X86_REG_FIP = 254;
export const UC_X86_REG_FDP = 256;
export const UC_X86_REG_FOP = 258;
/** Q0..Q31 are consecutive (16 bytes each through readRaw/writeRaw). */
export const UC_ARM64_REG_Q0 = 104;
export const UC_ARM64_REG_PSTATE = 265;
export const UC_ARM64_REG_FPCR = 291;
export const UC_ARM64_REG_FPSR = 292;
