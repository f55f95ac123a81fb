// koffi, loaded through its CommonJS entry. Node loads that one in about
// 7 ms of CPU against 12 ms for its ES module entry (which re-exports the
// same native module through two more modules and the ESM resolver): a
// twentieth of `tslinux run hello` (Node 20, measured on the 2-core EPYC).
import { createRequire } from 'node:module';
import type koffiModule from 'koffi';

export type { LibraryHandle, TypeObject } from 'koffi';

const koffi: typeof koffiModule = createRequire(import.meta.url)('koffi');
export default koffi;
