/**
 * Waiting for the embedded store's writer lock, as an operator sees it: how long a command waits
 * (`CUSTODY_LOCK_TIMEOUT`, seconds) and the line it prints on stderr when it has to wait.
 */
import { CustodyError } from '@custody/core/errors';
import type { LockWait } from '@custody/store/lock';

/** The wait for another writer's lock when CUSTODY_LOCK_TIMEOUT is not set. */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/**
 * The lock timeout CUSTODY_LOCK_TIMEOUT gives (seconds, `0` to `3600`, fractions allowed), else the default.
 * @throws ERR_USAGE_LOCK_TIMEOUT for anything else
 */
export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CUSTODY_LOCK_TIMEOUT;
  if (v === undefined || v === '') return DEFAULT_LOCK_TIMEOUT_MS;
  const seconds = /^\d{1,4}(\.\d{1,3})?$/.test(v) ? Number(v) : NaN;
  if (!(seconds <= 3600))
    throw new CustodyError(
      'ERR_USAGE_LOCK_TIMEOUT',
      `CUSTODY_LOCK_TIMEOUT=${JSON.stringify(v.slice(0, 40))}: give the seconds to wait for the store lock, 0 to 3600`,
    );
  return Math.round(seconds * 1000);
}

/** The one line that says a command waits for the store lock: who holds it (when it said), and for how long at most. */
export function lockWaitLine(w: LockWait): string {
  const who = w.holder
    ? `process ${w.holder.pid} on ${w.holder.host} (${w.holder.command}, since ${w.holder.since})`
    : 'another custody process (it did not say who)';
  const limit = w.timeoutMs % 1000 === 0 ? `${w.timeoutMs / 1000} s` : `${w.timeoutMs} ms`;
  return `custody: waiting for the store lock of ${w.dir}, held by ${who}; giving up after ${limit} (CUSTODY_LOCK_TIMEOUT)`;
}
