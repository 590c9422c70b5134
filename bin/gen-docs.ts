/** Writes the generated parts of docs/ (the route reference). */
import { writeFileSync } from 'node:fs';
import { apiReferenceMarkdown } from '../functions/http/api-docs.js';

writeFileSync('docs/api.md', apiReferenceMarkdown());
console.log('wrote docs/api.md');
