/**
 * The file store (filetracker protocol v2): storage, routes, client, cache and the environ file access.
 * docs/files.md describes the protocol, the storage layout and the cache.
 */
export { JobFiles, fileMode, StoreFiles, type JobFilesSettings } from './access.js';
export { FileTracker, sha256Of, type TrackerOptions, type GetResult } from './tracker.js';
export { FilesClient, sha256File, type ClientOptions, type RemoteFile, type ListEntry } from './client.js';
export { FileCache, DEFAULT_CACHE_BYTES, type CacheEntry, type CacheOptions } from './cache.js';
export { FileStorage, type StoredFile, type StorageOptions, type Ingested, type CommitResult, type RemoveResult } from './storage.js';
export { filesRoutes, type FilesRoutesOptions } from './routes.js';
export { startFileServer, type FileServer, type FileServerOptions } from './server.js';
export { isLoopback } from '../environ/index.js';
export { ConflictError, RemoteError } from './errors.js';
export { parseName, parseDir, parseVersion, formatName, httpDate, nowVersion, encodePath, MAX_PATH_BYTES, MAX_VERSION, type FileName } from './names.js';
