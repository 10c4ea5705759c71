/**
 * The README's "Use" section is a script: its fenced ```sh blocks are run literally, in order, by one bash in an
 * empty folder, with `custody` resolved to the built CLI by a PATH shim. A README edit that breaks the flow
 * fails here. Build first (`npx tsc --build`): the shim runs packages/cli/bin/run.js.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, cliEnv, custodyJSON } from './e2e-helpers.js';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/** The ```sh blocks of the README section headed `## <title>`, in order. */
export function shellBlocks(markdown: string, title: string): string[] {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`README has no "## ${title}" section`);
  const rest = markdown.slice(start + title.length + 5);
  const next = rest.search(/^## /m);
  const section = next < 0 ? rest : rest.slice(0, next);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('README: the three-organisation flow runs as written', function () {
  this.timeout(600_000);
  let dir: string;
  let work: string;
  let run: ReturnType<typeof spawnSync>;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-readme-'));
    work = join(dir, 'flow');
    mkdirSync(work);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // `custody` on the PATH, as `npm link` would put it there.
    writeFileSync(join(bin, 'custody'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, 'custody'), 0o755);
    const blocks = shellBlocks(readFileSync(README, 'utf8'), 'Use');
    // -e: the first failing command ends the flow; -x: the log names it.
    const script = ['set -e -o pipefail -x', ...blocks].join('\n');
    writeFileSync(join(dir, 'flow.sh'), script);
    run = spawnSync('bash', [join(dir, 'flow.sh')], {
      cwd: work,
      encoding: 'utf8',
      env: cliEnv({ PATH: `${bin}:${process.env.PATH}` }),
      timeout: 540_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has sh blocks for every organisation', () => {
    const script = shellBlocks(readFileSync(README, 'utf8'), 'Use').join('\n');
    for (const step of ['cd ../acme', 'cd ../northwind', 'cd ../contoso', 'cd ../fabrikam', 'custody devices verify', 'custody devices activate']) {
      assert.ok(script.includes(step), `the Use section lacks "${step}"`);
    }
  });

  it('runs every command of the Use section with exit status 0', () => {
    const tail = `${String(run.stderr).split('\n').slice(-30).join('\n')}\n--- stdout:\n${String(run.stdout).split('\n').slice(-30).join('\n')}`;
    assert.equal(run.status, 0, `the flow stopped (status ${run.status}, signal ${run.signal}):\n${tail}`);
  });

  it('ends with the healthcare verification accepted and the device activated with an LDevID', () => {
    assert.equal(run.status, 0);
    assert.match(String(run.stdout), /ACCEPTED|accepted/);
    const fabrikam = join(work, 'fabrikam');
    const shown = custodyJSON(['devices', 'show', 'AC000001', '--json'], { cwd: fabrikam });
    assert.equal(shown.status, 0, shown.stderr);
    const view = shown.json.data;
    assert.equal(view.activated, true);
    assert.equal(view.lot, 'L2026-11');
    assert.equal(view.model, 'Sensor X1');
    assert.ok(existsSync(join(fabrikam, 'AC000001-ldevid.pem')));
  });

  it('names the parties of devices show by subject where it showed key hashes (a regression of issue 21)', () => {
    assert.equal(run.status, 0);
    const fabrikam = join(work, 'fabrikam');
    const view = (() => {
      const r = custodyJSON(['devices', 'show', 'AC000001', '--json'], { cwd: fabrikam });
      return r.json.data;
    })();
    assert.equal(view.chain[0].from.subject, 'O=Acme Devices, CN=acme-factory');
    assert.equal(view.chain[0].to.subject, 'O=Northwind Integration, CN=northwind-integration');
    assert.match(view.chain[0].to.spkiSha256, /^[0-9a-f]{64}$/);
    assert.equal(view.chain[2].to.name, 'fabrikam-ops');
    const text = custodyJSON(['devices', 'show', 'AC000001'], { cwd: fabrikam }).stdout;
    assert.doesNotMatch(text, /key [0-9a-f]{16}\.\.\./);
  });

  it('lets the integrator select the lot it learnt from the bundles', () => {
    assert.equal(run.status, 0);
    for (const serial of ['AC000001', 'AC000002', 'AC000003']) assert.ok(existsSync(join(work, 'northwind', 'to-contoso', `${serial}.json`)), serial);
  });
});
