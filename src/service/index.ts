export * from './types.js';
export { LocalService } from './local.js';
export { openService, openConfiguredStore, storeOptionsOf } from './open.js';
export { toWire, fromWire } from './wire.js';
export { startPruning } from './pruning.js';
export { Mailer, configuredMailer, latestDigestTime, type MailerOptions } from './mail/mailer.js';
