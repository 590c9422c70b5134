/**
 * Stack traces in the functions' own sources, mapped when a stack is read instead of when code
 * loads. Node's --enable-source-maps reads and parses the source map of every file as it loads
 * it: for the inference function's one init chunk (a 0.9 MB map) that was 8–9 ms of every cold
 * start, and 7.5 ms of the authorizer's, whether anything failed or not (docs/inference.md, round
 * 15). Here a frame is mapped through its file's map, with Node's own SourceMap class, when an
 * error's stack is first read (V8 formats stacks lazily); each map is read once, on the first
 * error that passes through its file. The frames read as Node's own mapping writes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Each file's map, or null where it has none (or an unreadable one). */
const maps = new Map<string, SourceMap | null>();

function mapOf(fileName: string | undefined | null): SourceMap | null {
  if (!fileName) return null;
  let map = maps.get(fileName);
  if (map !== undefined) return map;
  map = null;
  try {
    const path = fileName.startsWith('file://') ? fileURLToPath(fileName) : fileName;
    if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
  } catch {
    // A map that cannot be read leaves the file's frames as V8 wrote them.
  }
  maps.set(fileName, map);
  return map;
}

/**
 * A source as its map names it, relative to the map (`../../functions/core/x.ts` from a bundle
 * built beside the project): shown from the project's own folders, which is what a reader looks for.
 */
const shownSource = (source: string) => source.replace(/^(?:\.\.\/)+/, '');

/** The original name of the function a frame is in: the enclosing function's, else the caller's site. */
function originalName(map: SourceMap, frames: readonly NodeJS.CallSite[], i: number): string | undefined {
  const frame = frames[i] as NodeJS.CallSite & {
    getEnclosingLineNumber?: () => number | null;
    getEnclosingColumnNumber?: () => number | null;
  };
  const line = frame.getEnclosingLineNumber?.();
  const column = frame.getEnclosingColumnNumber?.();
  if (line && column) {
    const enclosing = map.findEntry(line - 1, column - 1) as { name?: string };
    if (enclosing.name) return enclosing.name;
  }
  const next = frames[i + 1];
  if (next && next.getFileName() === frame.getFileName()) {
    const caller = map.findEntry((next.getLineNumber() ?? 1) - 1, (next.getColumnNumber() ?? 1) - 1) as {
      name?: string;
    };
    return caller.name;
  }
  return undefined;
}

function frameText(frames: readonly NodeJS.CallSite[], i: number): string {
  const frame = frames[i] as NodeJS.CallSite;
  try {
    const map = mapOf(frame.getFileName());
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    if (!map || !line || !column) return String(frame);
    const entry = map.findEntry(line - 1, column - 1) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
    };
    if (!entry.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined) {
      return String(frame);
    }
    // As Node's own --enable-source-maps names a mapped frame (v8.dev/docs/stack-trace-api).
    const fnName = frame.getFunctionName() ?? frame.getMethodName();
    const typeName = frame.getTypeName();
    const generated = `${typeName !== null && typeName !== 'global' ? `${typeName}.` : ''}${fnName || '<anonymous>'}`;
    const name = originalName(map, frames, i) || generated;
    const where = `${shownSource(entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    return `${frame.isAsync() ? 'async ' : ''}${name} (${where})`;
  } catch {
    return String(frame);
  }
}

let formatting = false;

/** Error.prepareStackTrace: V8's text for each frame, with mapped frames in their original source. */
export function sourceMappedStack(error: unknown, frames: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = '<error>';
  }
  if (frames.length === 0) return header;
  // An error raised while mapping (reading a map) must not be mapped in turn.
  if (formatting) return `${header}\n    at ${frames.join('\n    at ')}`;
  formatting = true;
  try {
    return `${header}\n    at ${frames.map((_, i) => frameText(frames, i)).join('\n    at ')}`;
  } finally {
    formatting = false;
  }
}

/**
 * Maps every stack read from now on, when this code runs from a bundle with its maps beside it (a
 * deployed function's). Run from source (tsx, the tests) it changes nothing: tsx maps through
 * Node's own support, which an Error.prepareStackTrace of ours would turn off.
 */
export function installSourceMappedStacks(): boolean {
  const self = import.meta.url;
  if (!self.startsWith('file://') || !existsSync(`${fileURLToPath(self)}.map`)) return false;
  Error.prepareStackTrace = sourceMappedStack;
  return true;
}
