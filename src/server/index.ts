export { Root, type RootOptions, type RootWorkerOptions } from './root.js';
