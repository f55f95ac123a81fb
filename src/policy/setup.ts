// From options to a gate: what `--policy`/`--allow`/`--deny`/`--record-profile`
// and the library's `policy`/`allow`/`deny`/`recordProfile` options build.
// The CLI and src/index.ts both go through here.
import * as fs from 'node:fs';
import type { SyscallGate } from '../kernel/dispatch.ts';
import { PolicyGate, RecordingGate } from './gate.ts';
import { readOutput, writeOutput, type OutputFile } from '../host/output.ts';
import { parseProfile, parseProfileText, type Profile } from './profile.ts';
import { ProfileRecorder } from './record.ts';

export interface PolicySetup {
  /** A parsed profile, a profile object straight from JSON.parse, JSON text (starting with "{"), or a file path. */
  policy?: Profile | object | string;
  /** Only these syscalls are allowed (with a profile: these are allowed whatever it says). */
  allow?: readonly string[];
  /** These syscalls fail with EPERM whatever the profile says. */
  deny?: readonly string[];
  /** Record the calls made: into this recorder, or (a path) into a profile file written by saveRecordedProfile. */
  recordProfile?: string | ProfileRecorder;
  /** Where SCMP_ACT_LOG reports calls. */
  log: (line: string) => void;
}

export interface PolicyGates {
  /** The gate to put in front of the handlers (null when no option asks for one). */
  gate: SyscallGate | null;
  recorder: ProfileRecorder | null;
}

/** Read a profile file. A missing or unreadable file throws the fs error; a bad profile throws PolicyError. */
export function readProfileFile(file: string): Profile {
  return parseProfileText(fs.readFileSync(file, 'utf8'));
}

/**
 * A profile from what the `policy` option may hold. Strings starting with
 * "{" are JSON text, any other string is a file path. Throws PolicyError
 * (with the JSON path of the first error) for an invalid profile.
 */
export function loadProfile(spec: Profile | object | string): Profile {
  if (typeof spec !== 'string') return parseProfile(spec);
  return spec.trimStart().startsWith('{') ? parseProfileText(spec) : readProfileFile(spec);
}

/** The policy gate (profile and/or allow/deny), wrapped by the recorder when one is asked for. */
export function buildPolicyGates(s: PolicySetup): PolicyGates {
  let gate: SyscallGate | null = null;
  if (s.policy !== undefined || s.allow?.length || s.deny?.length) {
    const profile = s.policy !== undefined ? loadProfile(s.policy) : undefined;
    gate = new PolicyGate({ profile, allow: s.allow ? [...s.allow] : undefined, deny: s.deny ? [...s.deny] : undefined }, s.log);
  }
  const recorder = s.recordProfile === undefined ? null : typeof s.recordProfile === 'string' ? new ProfileRecorder() : s.recordProfile;
  if (recorder) gate = new RecordingGate(recorder, gate);
  return { gate, recorder };
}

/**
 * Write what `recorder` saw to `file`. A profile already there (one recorded
 * earlier, say on the other arch) is merged in: the file allows the union.
 * Throws PolicyError when the existing file is not a recorded profile.
 */
export function saveRecordedProfile(file: string | OutputFile, recorder: ProfileRecorder): void {
  const text = readOutput(file);
  writeOutput(file, recorder.toJSON(text === undefined ? undefined : parseProfileText(text)));
}
