import type { Command } from '../command.js';

export const command: Command = {
  name: 'journey',
  summary: 'not yet implemented',
  help: 'Usage: hoptrace journey',
  async run() {
    console.error('hoptrace journey: not yet implemented');
    return 1;
  },
};
