import type { Command } from '../command.js';

export const command: Command = {
  name: 'lag',
  summary: 'not yet implemented',
  help: 'Usage: hoptrace lag',
  async run() {
    console.error('hoptrace lag: not yet implemented');
    return 1;
  },
};
