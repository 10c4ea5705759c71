/**
 * A throwaway SoftHSM token for tests: its own softhsm2.conf and token folder in a temp folder, pointed at by
 * SOFTHSM2_CONF, so that nothing outside the folder is read or written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian, Ubuntu and a source build put the SoftHSM module. */
const MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

/** The SoftHSM module, or undefined with the reason when SoftHSM (module or softhsm2-util) is not installed. */
export function findSoftHSM(): { module: string } | { missing: string } {
  const module = MODULES.find((m) => existsSync(m));
  if (!module) return { missing: `no SoftHSM module (${MODULES.join(', ')}); apt-get install softhsm2` };
  if (spawnSync('softhsm2-util', ['--version']).status !== 0) return { missing: 'softhsm2-util is not on PATH; apt-get install softhsm2' };
  return { module };
}

export interface TestToken {
  dir: string;
  module: string;
  conf: string;
  label: string;
  pin: string;
  /** A file holding the PIN, for pin-source=file:. */
  pinFile: string;
  /** Removes the folder and restores SOFTHSM2_CONF. */
  dispose(): void;
}

/** Creates a token labelled `label` with user PIN `pin` in a new temp folder and points SOFTHSM2_CONF at it. */
export function createTestToken(module: string, label: string, pin: string): TestToken {
  const dir = mkdtempSync(join(tmpdir(), 'custody-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const before = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${pin}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`softhsm2-util --init-token failed: ${r.stderr}`);
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return {
    dir,
    module,
    conf,
    label,
    pin,
    pinFile,
    dispose() {
      if (before === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = before;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `createTestToken` where SoftHSM is installed; else the test (or hook) `ctx` is skipped, saying why. */
export function testTokenOrSkip(ctx: Mocha.Context, label: string, pin: string): TestToken {
  const found = findSoftHSM();
  if ('missing' in found) {
    console.log(`      (skipped: ${found.missing})`);
    ctx.skip();
  }
  return createTestToken(found.module, label, pin);
}

/** Runs pkcs11-tool (OpenSC) on the token, logged in; its stdout, or undefined when pkcs11-tool is missing. */
export function pkcs11Tool(t: TestToken, args: string[]): { status: number | null; stdout: string; stderr: string } | undefined {
  const r = spawnSync('pkcs11-tool', ['--module', t.module, '--token-label', t.label, '--login', '--pin', t.pin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SOFTHSM2_CONF: t.conf },
  });
  if (r.error) return undefined;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
