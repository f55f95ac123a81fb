// End to end over loopback with Debian's static busybox, on both arches:
// in one guest shell, `nc -l` receives a 300 KB file from `nc` (compared
// byte for byte), then `httpd` serves a directory to `wget` (a page and a
// 404). Under tslinux (--net none, the default) all of it stays inside the
// kernel; the same script runs natively (x86-64) or under qemu-aarch64 on
// the host's loopback as the reference, and stdout, stderr, the exit code
// and the files left must agree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHES, debianBin, runReference, runTslinux, visible, type GuestArch } from './helpers/e2e.ts';

/** 300 KB of varied bytes (deterministic, so the files left compare). */
const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => ((i * 2654435761) >>> 24) & 0xff));

/**
 * The shell script. The receiving nc's stdin is a FIFO the shell holds
 * open: busybox nc half-closes the connection when its stdin ends, which
 * would make the sender stop early. Clients retry until the server is
 * listening (it starts in the background).
 */
function script(ncPort: number, httpPort: number): string {
  return `./busybox mkfifo ctl
./busybox nc -l -p ${ncPort} < ctl > got.bin &
srv=$!
exec 3> ctl
i=0
until ./busybox nc 127.0.0.1 ${ncPort} < big.bin 2>/dev/null; do i=$((i+1)); [ $i -gt 200 ] && break; ./busybox sleep 0.05; done
wait $srv
exec 3>&-
./busybox rm ctl
./busybox cmp big.bin got.bin && echo "nc: identical"
./busybox httpd -f -p 127.0.0.1:${httpPort} -h www &
h=$!
i=0
until ./busybox wget -q -O page.html http://127.0.0.1:${httpPort}/index.html 2>/dev/null; do i=$((i+1)); [ $i -gt 200 ] && break; ./busybox sleep 0.05; done
./busybox cat page.html
./busybox wget -q -O - http://127.0.0.1:${httpPort}/missing.html; echo "missing: $?"
# The shell's own "Terminated" job notice comes when it happens to look: not compared.
exec 2>/dev/null
kill $h; wait $h; echo "httpd: $?"
`;
}

/**
 * The script runs ./busybox again for each applet: under plain qemu-aarch64
 * that needs binfmt_misc to route aarch64 binaries through qemu (as in
 * e2e-guests.test.ts); without it there is no aarch64 reference run.
 */
const qemuCanReexec = ['qemu-aarch64', 'aarch64-binfmt-P'].some((n) => fs.existsSync(`/proc/sys/fs/binfmt_misc/${n}`));

/** Ports of their own per arch, so that the two reference runs never meet on the host's loopback. */
const PORTS: Record<GuestArch, [number, number]> = { x86_64: [40123, 40124], aarch64: [40133, 40134] };

for (const arch of ARCHES) {
  describe(`busybox on loopback (${arch})`, () => {
    it('nc -l and nc move a file; httpd serves wget; the same as on the host', () => {
      const busybox = debianBin(arch, 'busybox');
      if (!fs.existsSync(busybox)) {
        if (process.env.TSLINUX_REQUIRE_ALL === '1') throw new Error(`${busybox} is missing (scripts/fetch-debian-bins.sh)`);
        console.log(`skipped: ${busybox} is missing (run scripts/fetch-debian-bins.sh)`);
        return;
      }
      const spec = {
        arch,
        program: busybox,
        args: ['sh', 'net.sh'],
        copyIn: true,
        setup: (dir: string) => {
          fs.writeFileSync(path.join(dir, 'net.sh'), script(...PORTS[arch]));
          fs.writeFileSync(path.join(dir, 'big.bin'), BIG);
          fs.mkdirSync(path.join(dir, 'www'));
          fs.writeFileSync(path.join(dir, 'www', 'index.html'), '<h1>served by busybox httpd</h1>\n');
        },
      };
      const tsl = runTslinux(spec);
      expect(tsl.stdout).toBe('nc: identical\n<h1>served by busybox httpd</h1>\nmissing: 1\nhttpd: 143\n');
      expect(tsl.exitCode).toBe(0);
      expect(tsl.files['got.bin']).toBe(BIG.toString('latin1'));
      const ref = arch === 'aarch64' && !qemuCanReexec ? null : runReference(spec);
      if (ref) expect(visible(tsl)).toEqual(visible(ref));
    });
  });
}
