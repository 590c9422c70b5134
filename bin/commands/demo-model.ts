/**
 * `serval demo-model`: writes the demo's ONNX model (the logistic regression `npm start`
 * registers as iris-demo, trained here the same deterministic way) to a file, so the README's
 * registry walkthrough has a real model to register without Python or an exporter.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { makeDemoModel } from '../../functions/core/training/demo.js';

export function demoModelCommand(): Command {
  return new Command('demo-model')
    .description("write the demo's real ONNX model (iris-like logistic regression) to a file")
    .option('--out <file>', 'where to write it', 'model.onnx')
    .action((opts: { out: string }) => {
      try {
        const demo = makeDemoModel();
        writeFileSync(opts.out, demo.onnx);
        const sha = createHash('sha256').update(demo.onnx).digest('hex');
        const features = demo.inputSchema.features.map((f) => f.name).join(', ');
        const classes = (demo.outputSchema.classes ?? []).join(' / ');
        console.log(`wrote ${opts.out} (${demo.onnx.byteLength} bytes, sha256 ${sha})`);
        console.log(`  takes [N, 4] float: ${features}; answers ${classes} with probabilities`);
      } catch (err) {
        console.error(`serval: could not write ${opts.out}: ${(err as Error).message}`);
        process.exitCode = 2;
      }
    });
}
