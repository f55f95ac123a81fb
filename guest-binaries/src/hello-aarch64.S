/* hello_asm (aarch64): no libc, raw syscalls only.
 * write(1, msg, len); exit_group(0) */
    .text
    .globl _start
_start:
    mov  x0, #1                 /* fd 1 */
    adr  x1, msg                /* buf */
    mov  x2, #len               /* count */
    mov  x8, #64                /* SYS_write */
    svc  #0
    mov  x0, #0                 /* status 0 */
    mov  x8, #94                /* SYS_exit_group */
    svc  #0
    b    .                      /* not reached */

msg:
    .ascii "hello, world\n"
    .set len, . - msg

    .section .note.GNU-stack,"",%progbits
