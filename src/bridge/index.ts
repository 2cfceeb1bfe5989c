export { runBridge, type BridgeOptions } from './bridge.js';
export { batches, type Batch } from './batches.js';
export { mirrorChanges, mirrorSnapshot, mirroredThrough } from './mirror.js';
export * from './moi.js';
