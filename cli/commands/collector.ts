import type { Command } from '../command.js';

export const command: Command = {
  name: 'collector',
  summary: 'not yet implemented',
  help: 'Usage: hoptrace collector',
  async run() {
    console.error('hoptrace collector: not yet implemented');
    return 1;
  },
};
