/**
 * Issue 19 end to end, through the built CLI: YAML workflows held to their limits with a one-line error naming
 * file and line (exit 3, not ERR_INTERNAL and exit 5), a deeply nested bundle refused while the other bundles
 * of its folder still get their verdicts, and a 100 MB CSR refused by its size without being read.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, cliEnv, custody } from './e2e-helpers.js';

const SEEDS = fileURLToPath(new URL('./fixtures/fuzz/seeds/', import.meta.url));
const BUNDLE = join(SEEDS, 'bundles', 'bundle.json');
const TRUST = join(SEEDS, 'pem', 'issuing.pem');
const PASS = 'text limits passphrase';
/** Printed to stderr at exit by the child, so that the test can read its peak memory. */
const RSS_PROBE = `data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss-kib '+process.resourceUsage().maxRSS+'\\n'))`;

describe('text inputs held to their limits (built CLI, issue 19)', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'custody-e2e-text-limits-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Exit 3 with one line on stderr naming `where` and ending in `[code]`. */
  function refused(r: SpawnSyncReturns<string>, code: string, where: string | RegExp): void {
    assert.equal(r.status, 3, `exit code; stderr: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('maxrss-kib '));
    assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr.slice(0, 500))}`);
    assert.ok(lines[0]!.endsWith(`[${code}]`), `${lines[0]} ends with [${code}]`);
    if (typeof where === 'string') assert.ok(lines[0]!.includes(where), `${lines[0]} names ${where}`);
    else assert.match(lines[0]!, where);
  }

  const verify = (more: string[]) =>
    custody(['devices', 'verify', '--bundle', BUNDLE, '--trust', TRUST, '--store', join(tmp, 'no-store'), ...more], { cwd: tmp });

  it('a workflow with an alias is bad input naming file and line (was "Alias resolution is disabled [ERR_INTERNAL]", exit 5)', () => {
    const file = join(tmp, 'alias.yaml');
    writeFileSync(file, 'name: &n x\nversion: 1\nstages:\n  - name: *n\n');
    refused(verify(['--workflow', file]), 'ERR_WORKFLOW_INVALID', `${file}:4: aliases are not allowed`);
  });

  it('a 90 KB nested workflow and policy are bad input naming file and line (overflowed the stack; twice in a process aborted it)', () => {
    const workflow = join(tmp, 'nested.yaml');
    writeFileSync(workflow, `name: x\nversion: 1\nstages: ${'['.repeat(45_000)}${']'.repeat(45_000)}\n`);
    refused(verify(['--workflow', workflow]), 'ERR_WORKFLOW_INVALID', `${workflow}:3: nested deeper than 64 levels`);
    const policy = join(tmp, 'nested-policy.yaml');
    writeFileSync(policy, `name: p\nrequire:\n${'- '.repeat(45_000)}x\n`);
    refused(verify(['--policy', policy]), 'ERR_POLICY_INVALID', `${policy}:3: nested deeper than 64 levels`);
  });

  it('a 10 MB workflow is refused by its size before it is read (exhausted the heap)', () => {
    const file = join(tmp, 'huge.yaml');
    writeFileSync(file, '');
    truncateSync(file, 10 << 20);
    refused(verify(['--workflow', file]), 'ERR_INPUT_TOO_LARGE', `${file}: is 10485760 bytes, more than the 262144 bytes a workflow file may have`);
  });

  it('a bundle whose version is 20,000 nested arrays gets its own failed verdict; the other bundles of the folder get theirs (overflowed the stack)', () => {
    const folder = join(tmp, 'folder');
    mkdirSync(folder);
    const text = readFileSync(BUNDLE, 'utf8');
    writeFileSync(join(folder, 'a.json'), text);
    writeFileSync(join(folder, 'b.json'), `{"version":${'['.repeat(20_000)}${']'.repeat(20_000)},${text.slice(text.indexOf('"certificates"'))}`);
    const r = custody(['devices', 'verify', '--bundle', folder, '--trust', TRUST, '--store', join(tmp, 'no-store'), '--json'], { cwd: tmp });
    const out = JSON.parse(r.stdout).data as { results: Array<{ file: string; ok: boolean; code?: string; checks: Array<{ reason: string }> }> };
    assert.deepEqual(
      out.results.map((v) => v.file),
      [join(folder, 'a.json'), join(folder, 'b.json')],
    );
    assert.notEqual(out.results[0]!.code, 'ERR_BUNDLE_MALFORMED', 'the intact bundle is verified (against a trust anchor it may not chain to)');
    assert.equal(out.results[1]!.code, 'ERR_BUNDLE_MALFORMED');
    assert.match(out.results[1]!.checks[0]!.reason, /nested deeper than 64 levels \(at version/);
    assert.ok(out.results[1]!.checks[0]!.reason.length < 300, 'the reason quotes nothing of the input');
  });

  it('a 100 MB CSR is refused by its size, naming file and bound, with the process under 256 MB', () => {
    const store = join(tmp, 'store');
    for (const args of [
      ['init'],
      ['ca', 'create', '--name', 'root', '--organization', 'Acme'],
      ['ca', 'create', '--name', 'issuing', '--issuer', 'root', '--organization', 'Acme'],
    ]) {
      const r = custody([...args, '--store', store], { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
      assert.equal(r.status, 0, r.stderr);
    }
    const csr = join(tmp, 'big.csr');
    writeFileSync(csr, '');
    truncateSync(csr, 100 << 20);
    const r = spawnSync(
      process.execPath,
      ['--max-old-space-size=256', '--import', RSS_PROBE, BIN, 'devices', 'provision', '--csr', csr, '--ca', 'issuing', '--store', store],
      {
        encoding: 'utf8',
        env: cliEnv({ CUSTODY_PASSPHRASE: PASS }),
        cwd: tmp,
        timeout: 60_000,
      },
    );
    refused(r, 'ERR_INPUT_TOO_LARGE', `${csr}: is 104857600 bytes, more than the 65536 bytes a certificate request may have`);
    const kib = Number(/maxrss-kib (\d+)/.exec(r.stderr)?.[1]);
    assert.ok(kib > 0 && kib < 256 * 1024, `peak RSS ${kib} KiB`);
  });
});
