import { Args } from '@oclif/core';
import { CustodyError, derOrPEM, describeCertificate, formatCertificateDescription, readCertificateInfo, type CertificateDescription } from '@custody/core';
import { BaseCommand } from '../../base-command.js';
import { provider, readInputFile } from '@custody/app/context';

export default class CertsInspect extends BaseCommand {
  static override summary = 'Print a certificate (PEM or DER) in words.';
  static override args = { file: Args.string({ description: 'certificate file', required: true }) };

  async run(): Promise<CertificateDescription> {
    const { args } = await this.parse(CertsInspect);
    const bytes = readInputFile(args.file, 'certificate');
    let d: CertificateDescription;
    try {
      const der = derOrPEM(bytes, ['CERTIFICATE']);
      d = describeCertificate(readCertificateInfo(der), await provider.digest('SHA-256', der));
    } catch (e) {
      throw e instanceof CustodyError ? e.withFile(args.file) : e;
    }
    for (const line of formatCertificateDescription(d)) this.log(line);
    return d;
  }
}
