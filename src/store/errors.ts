import { SluiceError } from '../environ/index.js';

/** A store that cannot do what was asked (a full disk, a lock, a lost server): one line naming the database and the cause. */
export class StoreError extends SluiceError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
