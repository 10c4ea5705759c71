/**
 * A cross-process writer lock for the embedded store: a Linux abstract-namespace Unix socket. The kernel releases
 * it the instant its holder exits, kill -9 included, so there is no stale lock file to judge or break. Processes
 * must share a network namespace to see each other's lock (one host, not two containers with separate
 * namespaces on one volume).
 *
 * Only those who can write the store can take or block the lock (issue 20). Abstract socket names are not files:
 * anyone on the host can bind any name, so the name must be one that others cannot compute. It is derived from
 * `lock.key`, a random secret in the store folder readable only by those the folder lets write (owner, and group
 * or others only when the folder is group- or world-writable). Abstract names are listed in /proc/net/unix while
 * bound, so a name is used once: the holder writes a fresh secret into `lock.key` as the last step of its hold,
 * and a process that bound a name re-reads `lock.key` and holds the lock only when the secret is still the one
 * it used. A name seen in /proc/net/unix is stale by the time anyone else could bind it; only a holder killed
 * before the rotation leaves a name that someone who watched /proc/net/unix could squat, until a writer deletes
 * `lock.key` while no writer runs (the next lock makes a new one).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';

export interface StoreLock {
  release(): Promise<void>;
}

/** The secret's file in the store folder. */
export const LOCK_KEY_FILE = 'lock.key';

/** The lock key's mode: readable and writable by the owner, readable by whoever else may write the folder. */
function keyMode(dir: string): number {
  const m = statSync(dir).mode;
  return 0o600 | (m & 0o020 ? 0o040 : 0) | (m & 0o002 ? 0o004 : 0);
}

/** Writes a fresh secret to a temporary file beside `lock.key`, with the lock key's mode; returns its path. */
function freshKeyFile(dir: string): string {
  const tmp = join(dir, `.${LOCK_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  // The mode given to open is narrowed by the umask: set it outright.
  chmodSync(tmp, keyMode(dir));
  return tmp;
}

function lockKeyError(dir: string, e: unknown): CustodyError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new CustodyError(
    'ERR_STORE_LOCK_KEY',
    `${join(dir, LOCK_KEY_FILE)}: cannot read or make the store's lock key (${code}); only a user who may write the store can take its lock`,
    { file: join(dir, LOCK_KEY_FILE), cause: e },
  );
}

/** The current secret, made when the store has none yet (a store made before lock.key existed, or a bare folder). */
function readLockKey(dir: string): string {
  const file = join(dir, LOCK_KEY_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 0) throw lockKeyError(dir, e);
    }
    let tmp: string | undefined;
    try {
      tmp = freshKeyFile(dir);
      // link, not rename: of two processes making the first key, one wins and both then read the winner's.
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw lockKeyError(dir, e);
    } finally {
      if (tmp) unlinkSync(tmp);
    }
  }
}

/**
 * Replaces the secret: the name just used is never used again. Rewritten in place (a new file and a rename cost
 * about 1 ms on ext4, this about 60 µs), keeping the mode it was made with. A reader racing the write may read a
 * torn secret; it then fails its check after binding (the second read differs) and tries again.
 */
function rotateLockKey(dir: string): void {
  const file = join(dir, LOCK_KEY_FILE);
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+');
    writeSync(fd, `${randomBytes(32).toString('hex')}\n`, 0);
  } catch (e) {
    throw lockKeyError(dir, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function lockName(secret: string): string {
  return `\0custody-store-${createHash('sha256').update('custody store lock\n').update(secret).digest('hex').slice(0, 40)}`;
}

function tryListen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen(name, () => {
      server.unref();
      resolve(server);
    });
  });
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * Takes the store's writer lock, waiting up to `timeoutMs` for another writer to finish. Releasing it rotates
 * the lock key (see the top of this file).
 * @throws ERR_STORE_LOCKED when the wait runs out; ERR_STORE_LOCK_KEY when the lock key cannot be read or made
 *   (a user who may not write the store); ERR_STORE_PLATFORM off Linux
 */
export async function acquireStoreLock(dir: string, timeoutMs: number): Promise<StoreLock> {
  if (process.platform !== 'linux')
    throw new CustodyError('ERR_STORE_PLATFORM', 'the embedded store lock needs Linux (abstract Unix sockets); use the PostgreSQL store elsewhere');
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    const secret = readLockKey(dir);
    const server = await tryListen(lockName(secret));
    if (server) {
      // A holder that rotated the key between our read and our bind has left this name behind: not the lock.
      if (readLockKey(dir) === secret) {
        return {
          release: async () => {
            try {
              rotateLockKey(dir);
            } finally {
              await close(server);
            }
          },
        };
      }
      await close(server);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CustodyError('ERR_STORE_LOCKED', `${dir}: another custody process is writing to this store; gave up after ${timeoutMs} ms`, { file: dir });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
}
