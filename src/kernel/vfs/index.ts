// The virtual filesystem: contracts, the namespace, and the filesystems.
export * from './types.ts';
export { Vfs, sameFs, joinPath, parentPath, PATH_MAX, NAME_MAX, MAXSYMLINKS } from './vfs.ts';
export type { Resolved, ResolvedParent, ResolveOptions, MountInfo, ParentOp, CreateLookup } from './vfs.ts';
export { MemFs, MemNode, MemFile, DirectoryFile, MEMFS_MAX_FILE_SIZE, defaultClock } from './memfs.ts';
export type { MemFsOptions, DeviceOpener } from './memfs.ts';
export { HostFs, HostNode } from './hostfs.ts';
export type { HostFsOptions } from './hostfs.ts';
export { DevFs, makedev, major, minor } from './devfs.ts';
export type { DevFsOptions } from './devfs.ts';
