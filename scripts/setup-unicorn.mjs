// npm postinstall: make sure a Unicorn >= 2.1 library is available.
//
// Order: $UNICORN_LIB, then an already fetched vendor copy, then (Debian or
// Ubuntu hosts) Debian 13's libunicorn2t64 2.1.1 fetched with `apt-get
// download` under a private apt configuration into vendor/ (git-ignored),
// without touching the system's apt setup. Elsewhere (macOS: `brew install
// unicorn`) a system library is used. Failing here never fails `npm install`:
// tslinux prints what to do when it starts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vendor = join(root, 'vendor', 'debian-trixie');

function say(msg) {
  process.stderr.write(`tslinux setup: ${msg}\n`);
}

if (process.env.UNICORN_LIB) {
  say(`using UNICORN_LIB=${process.env.UNICORN_LIB}`);
} else if (process.platform !== 'linux') {
  say('not Linux: install Unicorn >= 2.1 yourself (macOS: brew install unicorn) or set UNICORN_LIB');
} else {
  const archs = { x64: 'amd64', arm64: 'arm64' };
  const debArch = archs[process.arch];
  const have = debArch && existsSync(join(vendor, 'root', `libunicorn2t64_${debArch}`));
  if (have) {
    say('Unicorn 2.1 already in vendor/');
  } else if (!debArch) {
    say(`no Debian package for ${process.arch}: install Unicorn >= 2.1 and set UNICORN_LIB`);
  } else {
    try {
      execFileSync('sh', [join(root, 'scripts', 'debian-fetch.sh'), 'trixie', vendor, `libunicorn2t64:${debArch}`], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      say('fetched Debian 13 libunicorn2t64 (Unicorn 2.1.1) into vendor/');
    } catch (e) {
      say(`could not fetch libunicorn2t64 (${e.message.split('\n')[0]}); set UNICORN_LIB to a Unicorn >= 2.1`);
    }
  }
}
