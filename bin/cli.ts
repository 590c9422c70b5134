import { Command } from 'commander';
import { adminKeyCommand } from './commands/admin-key.js';
import { demoModelCommand } from './commands/demo-model.js';
import { driftCommand } from './commands/drift.js';
import { experimentsCommand } from './commands/experiments.js';
import { jwtCommand } from './commands/jwt.js';

const program = new Command('serval').description('Serval: serverless MLOps — command-line tools');

program.addCommand(driftCommand());
program.addCommand(experimentsCommand());
program.addCommand(jwtCommand());
program.addCommand(adminKeyCommand());
program.addCommand(demoModelCommand());

await program.parseAsync(process.argv);
