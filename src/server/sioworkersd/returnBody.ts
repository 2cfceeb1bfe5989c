import type { JobRecord } from '../../store/index.js';
import { answerOf, GROUP_JOB_TYPE } from './groups.js';
import type { GroupEnv } from './groupEnv.js';

/** What the callback sender POSTs for a record, and which answers count as received. */
export interface CallbackBody {
  headers: Record<string, string>;
  body: string | FormData;
  /** whether the receiver took it */
  accepted(status: number): boolean;
}

/**
 * A `sioworkersd-group` job's callback is sioworkersd's return to oioioi (taskmanager's
 * `return_to_sio`): multipart/form-data with one field `data`, the group env as JSON, User-Agent
 * `sioworkersd`; anything but 200 is a failure to be tried again. Other records: undefined.
 */
export function sioworkersdReturn(record: JobRecord): CallbackBody | undefined {
  if (record.job_type !== GROUP_JOB_TYPE) return undefined;
  const form = new FormData();
  form.append('data', JSON.stringify(answerOf(record.output, record.environ.group as GroupEnv, record.error)));
  return { headers: { 'user-agent': 'sioworkersd' }, body: form, accepted: (status) => status === 200 };
}
