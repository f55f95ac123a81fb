#!/usr/bin/env node
// The `tslinux` command: runs the TypeScript CLI through tsx's loader, so the
// project ships its sources as they are (no build step).
import { register } from 'tsx/esm/api';

register();
const { main, exitWith } = await import('../src/cli.ts');
exitWith(await main(process.argv.slice(2)));
