import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { oclifFlags } from '../../flags.js';
import { STORE_FLAG } from '../../flag-spec.js';
import { formatDeviceView } from '../../render/device.js';
import { openStore } from '@custody/app/context';
import { showDevice, type DeviceView } from '@custody/app/show';

export default class DevicesShow extends BaseCommand {
  static override summary = "A device's chain of custody in words: one stage a line, who, to whom, when, what was claimed.";
  static override args = { serial: Args.string({ description: 'device serial', required: true }) };
  static override flags = oclifFlags(STORE_FLAG);

  async run(): Promise<DeviceView> {
    const { args, flags } = await this.parse(DevicesShow);
    const store = await openStore(flags.store, flags.keys);
    try {
      const view = await showDevice(store, args.serial);
      for (const line of formatDeviceView(view)) this.log(line);
      return view;
    } finally {
      await store.close();
    }
  }
}
