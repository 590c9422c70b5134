import { buildProgram } from './commands/program.js';

await buildProgram().parseAsync(process.argv);
