/** Fair-share policy as pure functions: usage decay, owner factor, claim order, placement. See docs/fairshare.md. */
export * from './usage.js';
export * from './classes.js';
export * from './fairshare.js';
export * from './order.js';
export * from './placement.js';
export * from './simulate.js';
export * from './planner.js';
