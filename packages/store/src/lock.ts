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
 *
 * The holder answers whoever connects to its socket with one JSON line saying who it is (pid, host, command, since
 * when), so that a writer made to wait can say who it waits for (issue 21). Only those who can read `lock.key`
 * can compute the name to ask.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { join } from 'node:path';
import { CustodyError } from '@custody/core/errors';

export interface StoreLock {
  release(): Promise<void>;
}

/** Who holds a store's lock, as the holder says (it can write the store: trusted as far as a display goes). */
export interface LockHolder {
  pid: number;
  host: string;
  /** The command it runs: the program and its leading words, no flags (`custody devices provision`). */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** A writer made to wait: for whom (when the holder answered), and how long it will wait at most. */
export interface LockWait {
  dir: string;
  holder?: LockHolder;
  timeoutMs: number;
}

/** What the holder says of itself: the program's name and the words before the first flag, at most three. */
function commandOf(argv: readonly string[]): string {
  const program = basename(argv[1] ?? argv[0] ?? 'node');
  // The CLI's launcher is bin/run.js: the user typed `custody`.
  const name = program === 'run.js' || program === 'run' ? 'custody' : program;
  const words: string[] = [];
  for (const a of argv.slice(2)) {
    if (a.startsWith('-') || words.length === 3) break;
    words.push(a);
  }
  return [name, ...words].join(' ');
}

const HOLDER_COMMAND = commandOf(process.argv);

/** Printable text of at most `max` characters (what a holder says is shown on a terminal). */
const printable = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.replace(/[^\x20-\x7e]/g, '?').slice(0, max) : undefined);

/** The holder's answer, checked field by field; undefined for anything else. */
function parseHolder(text: string): LockHolder | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.pid)) return undefined;
  const host = printable(v.host, 100);
  const command = printable(v.command, 200);
  const since = printable(v.since, 40);
  return host !== undefined && command !== undefined && since !== undefined ? { pid: v.pid as number, host, command, since } : undefined;
}

/** Asks the holder of the lock named `name` who it is; undefined when it does not answer within `ms`. */
function askHolder(name: string, ms: number): Promise<LockHolder | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const socket = connect(name);
    const done = (h: LockHolder | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(h);
    };
    const timer = setTimeout(() => done(undefined), ms);
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      size += b.length;
      // An answer is a short line: more is not one.
      if (size > 4096) done(undefined);
    });
    socket.on('end', () => done(parseHolder(Buffer.concat(chunks).toString('utf8'))));
    socket.on('error', () => done(undefined));
  });
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

/** Listens on `name`, answering each connection with `answer`; undefined when the name is taken. */
function tryListen(name: string, answer: () => string, sockets: Set<Socket>): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.end(answer());
    });
    server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(undefined) : reject(e)));
    server.listen(name, () => {
      server.unref();
      resolve(server);
    });
  });
}

/** Closes the server, cutting any connection still open (an asker that never read its answer must not hold it). */
const close = (server: Server, sockets?: Set<Socket>) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const s of sockets ?? []) s.destroy();
  });

/**
 * Takes the store's writer lock, waiting up to `timeoutMs` for another writer to finish; `onWait` is told once
 * when it has to wait, with whom the holder says it is. Releasing it rotates the lock key (see the top of this
 * file).
 * @throws ERR_STORE_LOCKED when the wait runs out (naming the holder when it answered); ERR_STORE_LOCK_KEY when
 *   the lock key cannot be read or made (a user who may not write the store); ERR_STORE_PLATFORM off Linux
 */
export async function acquireStoreLock(dir: string, timeoutMs: number, onWait?: (wait: LockWait) => void): Promise<StoreLock> {
  if (process.platform !== 'linux')
    throw new CustodyError('ERR_STORE_PLATFORM', 'the embedded store lock needs Linux (abstract Unix sockets); use the PostgreSQL store elsewhere');
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  let holder: LockHolder | undefined;
  let told = false;
  const sockets = new Set<Socket>();
  // What this process tells a waiter once it holds the lock: `since` is when it took it.
  let since = '';
  const answer = () => `${JSON.stringify({ pid: process.pid, host: hostname(), command: HOLDER_COMMAND, since })}\n`;
  for (;;) {
    const secret = readLockKey(dir);
    const name = lockName(secret);
    const server = await tryListen(name, answer, sockets);
    if (server) {
      since = new Date().toISOString();
      // A holder that rotated the key between our read and our bind has left this name behind: not the lock.
      if (readLockKey(dir) === secret) {
        return {
          release: async () => {
            try {
              rotateLockKey(dir);
            } finally {
              await close(server, sockets);
            }
          },
        };
      }
      await close(server, sockets);
      continue;
    }
    if (!told) {
      told = true;
      // Asked once, and only when made to wait: the uncontended path stays one bind.
      holder = await askHolder(name, Math.min(500, Math.max(50, timeoutMs)));
      onWait?.(holder ? { dir, holder, timeoutMs } : { dir, timeoutMs });
    }
    if (Date.now() >= deadline) {
      const who = holder ? `custody process ${holder.pid} on ${holder.host} (${holder.command})` : 'custody process';
      throw new CustodyError('ERR_STORE_LOCKED', `${dir}: another ${who} is writing to this store; gave up after ${timeoutMs} ms`, { file: dir });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
}
