/* hello_asm (x86-64): no libc, raw syscalls only.
 * write(1, msg, len); exit_group(0) */
    .text
    .globl _start
_start:
    mov  $1, %eax               /* SYS_write */
    mov  $1, %edi               /* fd 1 */
    lea  msg(%rip), %rsi        /* buf */
    mov  $len, %edx             /* count */
    syscall
    mov  $231, %eax             /* SYS_exit_group */
    xor  %edi, %edi             /* status 0 */
    syscall
    hlt                         /* not reached */

    .section .rodata
msg:
    .ascii "hello, world\n"
    .set len, . - msg

    .section .note.GNU-stack,"",@progbits
