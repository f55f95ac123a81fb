// Seccomp-style syscall policies: OCI/Docker profiles, the per-arch policy
// the dispatcher consults before each handler, and the profile recorder.
export {
  ARCH_ALIASES,
  DOCKER_ARCH,
  PolicyError,
  SCMP_ACTIONS,
  SCMP_ARCH,
  SCMP_OPERATORS,
  formatProfile,
  parseProfile,
  parseProfileText,
  type ArchMapEntry,
  type ArgCondition,
  type Profile,
  type RuleFilter,
  type ScmpAction,
  type ScmpOperator,
  type SyscallRule,
} from './profile.ts';
export {
  ACTION_PRECEDENCE,
  DEFAULT_KERNEL_VERSION,
  GUEST_ARCHES,
  Policy,
  actionDecision,
  errnoDecision,
  type Decision,
  type DecisionAction,
  type PolicyOptions,
} from './policy.ts';
export { ProfileRecorder } from './record.ts';
