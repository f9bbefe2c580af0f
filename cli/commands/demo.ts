import type { Command } from '../command.js';

export const command: Command = {
  name: 'demo',
  summary: 'not yet implemented',
  help: 'Usage: hoptrace demo',
  async run() {
    console.error('hoptrace demo: not yet implemented');
    return 1;
  },
};
