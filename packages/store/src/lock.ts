/**
 * A cross-process writer lock for the embedded store. It is a Linux abstract-namespace Unix socket bound under
 * a name derived from the store's device and inode numbers: the kernel releases it the instant its holder exits,
 * kill -9 included, so there is no stale lock file to judge or break. Processes must share a network namespace
 * to see each other's lock (one host, not two containers with separate namespaces on one volume).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { CustodyError } from '@custody/core/errors';

export interface StoreLock {
  release(): Promise<void>;
}

/**
 * The lock's name: from the store's random identity when it has one, else from the folder's device, inode
 * and birth time (inode numbers are reused at once on this filesystem, so without more a deleted store's lock
 * holder would lock a new folder).
 */
function lockName(dir: string, storeId?: string): string {
  const basis = storeId ?? (() => {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
  })();
  const id = createHash('sha256').update(basis).digest('hex').slice(0, 40);
  return `\0custody-store-${id}`;
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

/**
 * Takes the store's writer lock, waiting up to `timeoutMs` for another writer to finish.
 * @throws ERR_STORE_LOCKED when the wait runs out
 */
export async function acquireStoreLock(dir: string, timeoutMs: number, storeId?: string): Promise<StoreLock> {
  if (process.platform !== 'linux') throw new CustodyError('ERR_STORE_PLATFORM', 'the embedded store lock needs Linux (abstract Unix sockets); use the PostgreSQL store elsewhere');
  const name = lockName(dir, storeId);
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    const server = await tryListen(name);
    if (server) {
      return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    }
    if (Date.now() >= deadline) {
      throw new CustodyError('ERR_STORE_LOCKED', `${dir}: another custody process is writing to this store; gave up after ${timeoutMs} ms`, { file: dir });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
}
