/**
 * A device whose IDevID key lives in a TPM 2.0, end to end with the built CLI: swtpm (a software TPM) in a temp
 * folder on a unix socket, tpm2-pkcs11 as the PKCS#11 module over it, a token and a P-256 key made in the TPM;
 * `agent csr` asks the TPM for the IDevID request, the factory provisions it, `agent respond` answers the proof
 * of possession from the TPM, and `devices verify --response` accepts it; an answer from any other key is
 * refused. Skipped, saying why, only where swtpm or tpm2-pkcs11 is missing and CI is not set.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { custodyJSON, openssl, type CLIRun } from './e2e-helpers.js';

const PIN = '2468';
const SO_PIN = '13579';
const PASS = 'tpm agent test passphrase';
const SERIAL = 'TPM0001';

/** Where Debian and Ubuntu put tpm2-pkcs11's module. */
const MODULES = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so',
  '/usr/lib/pkcs11/libtpm2_pkcs11.so',
  '/usr/local/lib/pkcs11/libtpm2_pkcs11.so',
];

/** tpm2-pkcs11's module, or what is missing: swtpm, the module, the swtpm TCTI, pkcs11-tool. */
function findTPMParts(): { module: string } | { missing: string } {
  if (spawnSync('swtpm', ['--version']).status !== 0) return { missing: 'swtpm is not installed (apt-get install swtpm swtpm-tools)' };
  const module = MODULES.find((m) => existsSync(m));
  if (!module) return { missing: `no tpm2-pkcs11 module (${MODULES.join(', ')}); apt-get install libtpm2-pkcs11-1` };
  const tcti = spawnSync('sh', ['-c', 'ls /usr/lib/*/libtss2-tcti-swtpm.so.0 /usr/lib/libtss2-tcti-swtpm.so.0 2>/dev/null'], { encoding: 'utf8' });
  if (!tcti.stdout.trim()) return { missing: 'no swtpm TCTI for tpm2-tss (apt-get install libtss2-tcti-swtpm0)' };
  if (spawnSync('pkcs11-tool', ['--help']).error) return { missing: 'pkcs11-tool is not installed (apt-get install opensc)' };
  return { module };
}

describe('an IDevID key in a TPM 2.0 (swtpm + tpm2-pkcs11, CLI end to end)', function () {
  this.timeout(240_000);
  let dir: string;
  let tpm: ChildProcess | undefined;
  let module: string;
  let env: Record<string, string>;
  const store = () => join(dir, 'factory');
  const cli = (...args: string[]): CLIRun => custodyJSON(args, { env, cwd: dir });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const p11 = (...args: string[]) => {
    const r = spawnSync('pkcs11-tool', ['--module', module, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(r.status, 0, `pkcs11-tool ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const keyURI = () => `pkcs11:token=device;object=idevid?pin-source=file:${join(dir, 'pin')}`;

  before(async function () {
    const found = findTPMParts();
    if ('missing' in found) {
      if (process.env.CI) throw new Error(`the TPM test needs its parts under CI: ${found.missing}`);
      console.log(`      (skipped: ${found.missing})`);
      this.skip();
    }
    module = found.module;
    dir = mkdtempSync(join(tmpdir(), 'custody-tpm-'));
    mkdirSync(join(dir, 'tpm-state'));
    mkdirSync(join(dir, 'tpm2-pkcs11'));
    const socket = join(dir, 'tpm.sock');
    // A unix socket only (no TCP port): the swtpm TCTI finds the control channel at <path>.ctrl.
    tpm = spawn(
      'swtpm',
      [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${join(dir, 'tpm-state')}`,
        '--server',
        `type=unixio,path=${socket}`,
        '--ctrl',
        `type=unixio,path=${socket}.ctrl`,
        '--flags',
        'not-need-init,startup-clear',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100 && !(existsSync(socket) && existsSync(`${socket}.ctrl`)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(socket), 'swtpm did not open its socket');
    env = {
      CUSTODY_PASSPHRASE: PASS,
      CUSTODY_PKCS11_MODULE: module,
      TPM2_PKCS11_TCTI: `swtpm:path=${socket}`,
      TPM2_PKCS11_STORE: join(dir, 'tpm2-pkcs11'),
      TPM2_PKCS11_LOG_LEVEL: '0',
    };
    writeFileSync(join(dir, 'pin'), `${PIN}\n`, { mode: 0o600 });
    // What the device's firmware does once: a token in the TPM, and the IDevID key generated inside it.
    // (tpm2_ptool needs a resource manager, tpm2-abrmd, in front of a bare swtpm; tpm2-pkcs11 itself does not.)
    p11('--init-token', '--label', 'device', '--so-pin', SO_PIN);
    p11('--token-label', 'device', '--login', '--login-type', 'so', '--so-pin', SO_PIN, '--init-pin', '--pin', PIN);
    p11('--token-label', 'device', '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'idevid', '--id', '01');
    ok('init', '--store', store());
    ok('ca', 'create', '--store', store(), '--name', 'root', '--organization', 'Acme');
    ok('ca', 'create', '--store', store(), '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme');
    ok('parties', 'create', '--store', store(), '--name', 'factory', '--ca', 'root', '--organization', 'Acme');
    const doc = JSON.parse(readFileSync(join(store(), 'store.json'), 'utf8'));
    writeFileSync(join(dir, 'root.pem'), doc.cas.root.certificate);
    writeFileSync(join(dir, 'issuing.pem'), doc.cas.issuing.certificate);
  });

  after(() => {
    tpm?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the TPM holds the key sensitive and never extractable, as tpm2-pkcs11 reports it', () => {
    const listed = p11('--token-label', 'device', '--login', '--pin', PIN, '--list-objects', '--type', 'privkey');
    assert.match(listed, /label:\s+idevid/);
    assert.match(listed, /Access:\s+sensitive, always sensitive, never extractable, local/);
  });

  it('agent csr asks the TPM for the request; the line provisions it; openssl verifies the IDevID, which certifies the TPM key', () => {
    const csr = ok('agent', 'csr', '--key', keyURI(), '--serial', SERIAL, '--out', join(dir, `${SERIAL}.csr`), '--json').json.data;
    assert.equal(csr.serial, SERIAL);
    openssl(['req', '-in', join(dir, `${SERIAL}.csr`), '-verify', '-noout']);
    ok('devices', 'provision', '--store', store(), '--ca', 'issuing', '--csr', join(dir, `${SERIAL}.csr`), '--party', 'factory', '--out', join(dir, 'issued'));
    const cert = join(dir, 'issued', `${SERIAL}.pem`);
    assert.match(openssl(['verify', '-x509_strict', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'issuing.pem'), cert]), /OK/);
    // The certified key is the TPM's: the public key tpm2-pkcs11 keeps beside the private one.
    const tpmPub = p11('--token-label', 'device', '--read-object', '--type', 'pubkey', '--label', 'idevid', '--output-file', join(dir, 'tpm-pub.der'));
    assert.equal(typeof tpmPub, 'string');
    const spki = (der: Buffer) => createHash('sha256').update(der).digest('hex');
    const certSpki = createPublicKey(readFileSync(cert)).export({ format: 'der', type: 'spki' });
    assert.equal(spki(certSpki), csr.spkiSha256);
    assert.equal(
      spki(createPublicKey({ key: readFileSync(join(dir, 'tpm-pub.der')), format: 'der', type: 'spki' }).export({ format: 'der', type: 'spki' })),
      csr.spkiSha256,
    );
    ok('devices', 'export', '--store', store(), '--serial', SERIAL, '--out', join(dir, `${SERIAL}.json`));
  });

  it('agent respond answers the challenge from the TPM, and devices verify --response accepts it', () => {
    ok('devices', 'challenge', '--store', store(), '--serial', SERIAL, '--out', join(dir, 'challenge.json'));
    ok('agent', 'respond', '--key', keyURI(), '--challenge', join(dir, 'challenge.json'), '--out', join(dir, 'response.json'));
    const r = cli(
      'devices',
      'verify',
      '--store',
      store(),
      '--bundle',
      join(dir, `${SERIAL}.json`),
      '--trust',
      join(dir, 'root.pem'),
      '--response',
      join(dir, 'response.json'),
      '--json',
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const possession = r.json.data.results[0].checks.find((c: { name: string }) => c.name === 'proof of possession');
    assert.equal(possession.ok, true, JSON.stringify(possession));
  });

  it('an answer signed by any other key is refused', () => {
    ok('devices', 'challenge', '--store', store(), '--serial', SERIAL, '--out', join(dir, 'challenge2.json'), '--force');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    writeFileSync(join(dir, 'other.key.pem'), other, { mode: 0o600 });
    ok('agent', 'respond', '--key', join(dir, 'other.key.pem'), '--challenge', join(dir, 'challenge2.json'), '--out', join(dir, 'response2.json'));
    const r = cli(
      'devices',
      'verify',
      '--store',
      store(),
      '--bundle',
      join(dir, `${SERIAL}.json`),
      '--trust',
      join(dir, 'root.pem'),
      '--response',
      join(dir, 'response2.json'),
      '--json',
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.json.data.results[0].code, /^ERR_VERIFY_POSSESSION/);
  });
});
