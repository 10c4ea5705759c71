import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { keyProtection, loadTemplate, now, openStore, readPassphrase, templatesDir } from '../../ops/context.js';
import { provision, type ProvisionResult } from '../../ops/provision.js';
import { startProgress } from '../../progress.js';
import { passphraseFlags, templatesFlag } from '../../flags.js';

export default class DevicesProvision extends BaseCommand {
  static override summary = 'Issue device identity certificates (IDevIDs) from CSRs, or for keys made on the line.';
  static override examples = [
    '<%= config.bin %> devices provision --ca acme-issuing --csr requests/ --model "Sensor X1" --lot L2026-11 --out issued/',
    '<%= config.bin %> devices provision --ca acme-issuing --generate 100 --serial-pattern "AC{seq:6}" --out issued/',
  ];

  static override flags = {
    ca: Flags.string({ description: 'issuing CA (name in the store)', required: true }),
    csr: Flags.string({ description: 'a CSR file (PEM or DER) or a folder of them', exactlyOne: ['csr', 'generate'] }),
    generate: Flags.integer({ description: 'make N device keys on the line', min: 1, exactlyOne: ['csr', 'generate'] }),
    'serial-pattern': Flags.string({ description: 'device serials for --generate: {seq}, {seq:6}, {rand:8}, {lot}, {model}', default: 'SN{seq:6}' }),
    start: Flags.integer({ description: 'first {seq} value', default: 1, min: 0 }),
    model: Flags.string({ description: 'device model, recorded and put in the subject CN' }),
    lot: Flags.string({ description: 'production lot, recorded' }),
    template: Flags.string({ description: 'certificate template', default: 'idevid' }),
    out: Flags.string({ description: 'folder for issued certificates (and generated keys)' }),
    ...templatesFlag,
    ...passphraseFlags,
  };

  async run(): Promise<ProvisionResult> {
    const { flags } = await this.parse(DevicesProvision);
    const template = loadTemplate(templatesDir(flags.templates), flags.template);
    const passphrase = readPassphrase(flags['passphrase-file']);
    const deviceKeyProtection = flags.generate ? keyProtection(passphrase, flags['no-encrypt']) : undefined;
    const store = await openStore(flags.store);
    const total = flags.generate ?? 0;
    const progress = startProgress(!this.jsonEnabled(), 'provisioning');
    try {
      const result = await provision(store, {
        ca: flags.ca,
        template,
        csrPath: flags.csr,
        generate: flags.generate,
        serialPattern: flags['serial-pattern'],
        start: flags.start,
        model: flags.model,
        lot: flags.lot,
        out: flags.out,
        passphrase,
        deviceKeyProtection,
        now: now(),
        onProgress: (done, n) => progress.update(done, n || total),
      });
      progress.stop();
      this.log(`issued ${result.devices.length} device certificate(s) under "${result.ca}"${flags.out ? ` into ${flags.out}` : ''}`);
      return result;
    } finally {
      progress.stop();
      await store.close();
    }
  }
}
