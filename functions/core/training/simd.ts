/**
 * WebAssembly SIMD versions of the dense-layer kernels an MLP epoch spends its time in: the
 * forward pass and the weight, bias and input gradients. V8 runs JavaScript's Float64Array
 * arithmetic one double at a time with a bounds check per access; wasm's f64x2 does two
 * multiply-adds per instruction without either cost (≈3.6× on the benchmark's 200 × 20 → 100
 * layer, ≈2.4× on a whole epoch).
 *
 * The module is assembled here, byte by byte, from the instruction sequences below (there is no
 * wasm toolchain in the build, and the kernels are small). It works on buffers carved out of one
 * WebAssembly.Memory (an `Arena`); the trainer allocates its parameters, gradients and batch
 * activations there. The wasm covers whole blocks (4 rows × 2 units forward, 4 units × 4 inputs
 * for the weight gradient, pairs of units or inputs for the others); the ragged edges (rows past
 * a multiple of 4, an odd input) go through plain loops.
 *
 * Determinism: only IEEE add, multiply and max, no fused multiply-add and no relaxed SIMD, in a
 * fixed order: the same inputs give bit-identical outputs on every engine. The order differs
 * from kernels.ts's (lanes hold even and odd inputs), so the two paths agree to rounding only.
 */
import { axpy, type denseForward, type denseWeightGrad, dot } from './kernels.js';

// ---- a minimal wasm assembler -------------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

type Code = number[];
const get = (l: number): Code => [0x20, ...uleb(l)];
const set = (l: number): Code => [0x21, ...uleb(l)];
const i32 = (v: number): Code => [0x41, ...sleb(v)];
const add = 0x6a;
const mul = 0x6c;
const geS = 0x4e;
const f64Load = (offset = 0): Code => [0x2b, 3, ...uleb(offset)];
const f64Store = (offset = 0): Code => [0x39, 3, ...uleb(offset)];
const f64Add = 0xa0;
const f64Max = 0xa5;
const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];
const vLoad = simd(0x00, 3, 0);
const vLoad64Zero = simd(0x5d, 3, 0);
const vStore = simd(0x0b, 3, 0);
const vZero = simd(0x0c, ...new Array<number>(16).fill(0));
const vSplat = simd(0x14);
const vAdd = simd(0xf0);
const vMul = simd(0xf2);
const lane = (i: number) => simd(0x21, i);

/** `local += step` */
const inc = (l: number, step: Code): Code => [...get(l), ...step, add, ...set(l)];
/** while (get(l) < limit) { body; l += step } as block/loop. */
const forLt = (l: number, limit: Code, step: Code, body: Code): Code => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...get(l),
  ...limit,
  geS,
  0x0d,
  1,
  ...body,
  ...inc(l, step),
  0x0c,
  0,
  0x0b,
  0x0b,
];
/** acc += x · y (all v128 locals) */
const fma = (acc: number, x: number, y: number): Code => [
  ...get(acc),
  ...get(x),
  ...get(y),
  ...vMul,
  ...vAdd,
  ...set(acc),
];

/**
 * forward(a, rows4, nin, w, b, out, nout, floor): for rows r < rows4 (a multiple of 4) and all
 * units j, out[r][j] = max(b[j] + Σ_k a[r][k] · w[j][k], floor). Units go in pairs; an odd last
 * unit (a one-unit head) runs as a pair with itself and stores once.
 * Pointers are byte addresses.
 */
function forwardBody(): { params: number[]; locals: number[]; code: Code } {
  const [a, rows4, nin, w, b, out, nout, floor] = [0, 1, 2, 3, 4, 5, 6, 7];
  // i32 locals
  const [r, j, k, rowB, kv, pa0, pa1, pa2, pa3, pw0, pw1, po, outRowB] = [
    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  ];
  // v128 locals: 8 accumulators, 4 inputs, 2 weights
  const s = [21, 22, 23, 24, 25, 26, 27, 28]; // s[2·row + unit]
  const x = [29, 30, 31, 32];
  const v = [33, 34];
  const pa = [pa0, pa1, pa2, pa3];
  const step = (load: Code): Code => [
    ...pa.flatMap((p, i) => [...get(p), ...get(k), add, ...load, ...set(x[i] as number)]),
    ...[pw0, pw1].flatMap((p, i) => [...get(p), ...get(k), add, ...load, ...set(v[i] as number)]),
    ...[0, 1, 2, 3].flatMap((ri) =>
      [0, 1].flatMap((u) => fma(s[2 * ri + u] as number, x[ri] as number, v[u] as number)),
    ),
  ];
  const store = (ri: number, u: number): Code => [
    // out[po + ri·outRowB + 8u] = max(lane 0 + lane 1 + b[j + u], floor)
    ...get(po),
    ...(ri === 0 ? [] : [...get(outRowB), ...i32(ri), mul, add]),
    ...get(s[2 * ri + u] as number),
    ...lane(0),
    ...get(s[2 * ri + u] as number),
    ...lane(1),
    f64Add,
    ...get(b),
    ...get(j),
    ...i32(8),
    mul,
    add,
    ...f64Load(8 * u),
    f64Add,
    ...get(floor),
    f64Max,
    ...f64Store(8 * u),
  ];
  const code: Code = [
    ...get(nin),
    ...i32(8),
    mul,
    ...set(rowB),
    ...get(nout),
    ...i32(8),
    mul,
    ...set(outRowB),
    // kv: bytes of the even part of a row
    ...get(nin),
    ...i32(-2),
    0x71, // i32.and
    ...i32(8),
    mul,
    ...set(kv),
    ...i32(0),
    ...set(r),
    ...forLt(r, get(rows4), i32(4), [
      ...get(a),
      ...get(r),
      ...get(rowB),
      mul,
      add,
      ...set(pa0),
      ...get(pa0),
      ...get(rowB),
      add,
      ...set(pa1),
      ...get(pa1),
      ...get(rowB),
      add,
      ...set(pa2),
      ...get(pa2),
      ...get(rowB),
      add,
      ...set(pa3),
      ...i32(0),
      ...set(j),
      ...forLt(j, get(nout), i32(2), [
        ...get(w),
        ...get(j),
        ...get(rowB),
        mul,
        add,
        ...set(pw0),
        // pw1 = j + 1 < nout ? pw0 + rowB : pw0
        ...get(pw0),
        ...get(rowB),
        add,
        ...get(pw0),
        ...get(j),
        ...i32(1),
        add,
        ...get(nout),
        0x48, // i32.lt_s
        0x1b, // select
        ...set(pw1),
        ...s.flatMap((l) => [...vZero, ...set(l)]),
        ...i32(0),
        ...set(k),
        ...forLt(k, get(kv), i32(16), step(vLoad)),
        // An odd last input: its lane-0 load with a zero beside it adds exactly nothing to lane 1.
        ...[...get(k), ...get(rowB), 0x48 /* i32.lt_s */, 0x04, 0x40, ...step(vLoad64Zero), 0x0b],
        ...get(out),
        ...get(r),
        ...get(outRowB),
        mul,
        add,
        ...get(j),
        ...i32(8),
        mul,
        add,
        ...set(po),
        ...[0, 1, 2, 3].flatMap((ri) => store(ri, 0)),
        ...[...get(j), ...i32(1), add, ...get(nout), 0x48, 0x04, 0x40],
        ...[0, 1, 2, 3].flatMap((ri) => store(ri, 1)),
        0x0b,
      ]),
    ]),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, I32, F64],
    locals: [...new Array<number>(13).fill(I32), ...new Array<number>(14).fill(V128)],
    code,
  };
}

/**
 * weightGrad(d, a, rows, nin, nout, g, j4, k4): for units j < j4 and inputs k < k4 (multiples of
 * 4), g[j][k] += Σ_r d[r][j] · a[r][k] (g: nout × nin from byte address g).
 */
function weightGradBody(): { params: number[]; locals: number[]; code: Code } {
  const [d, a, rows, nin, nout, g, j4, k4] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [j, k, r, pd, pa, rowB, doutB, pg] = [8, 9, 10, 11, 12, 13, 14, 15];
  const c = [16, 17, 18, 19, 20, 21, 22, 23]; // c[2·unit + half]
  const [x0, x1, du] = [24, 25, 26];
  const accumulate = (u: number, h: number): Code => [
    // g[pg + u·rowB + 16h] += c
    ...get(pg),
    ...(u === 0 ? [] : [...get(rowB), ...i32(u), mul, add]),
    ...(h === 0 ? [] : [...i32(16), add]),
    ...get(pg),
    ...(u === 0 ? [] : [...get(rowB), ...i32(u), mul, add]),
    ...(h === 0 ? [] : [...i32(16), add]),
    ...vLoad,
    ...get(c[2 * u + h] as number),
    ...vAdd,
    ...vStore,
  ];
  const code: Code = [
    ...get(nin),
    ...i32(8),
    mul,
    ...set(rowB),
    ...get(nout),
    ...i32(8),
    mul,
    ...set(doutB),
    ...i32(0),
    ...set(j),
    ...forLt(j, get(j4), i32(4), [
      ...i32(0),
      ...set(k),
      ...forLt(k, get(k4), i32(4), [
        ...c.flatMap((l) => [...vZero, ...set(l)]),
        ...get(d),
        ...get(j),
        ...i32(8),
        mul,
        add,
        ...set(pd),
        ...get(a),
        ...get(k),
        ...i32(8),
        mul,
        add,
        ...set(pa),
        ...i32(0),
        ...set(r),
        ...forLt(r, get(rows), i32(1), [
          ...get(pa),
          ...vLoad,
          ...set(x0),
          ...get(pa),
          ...i32(16),
          add,
          ...vLoad,
          ...set(x1),
          ...[0, 1, 2, 3].flatMap((u) => [
            ...get(pd),
            ...(u === 0 ? [] : [...i32(8 * u), add]),
            ...f64Load(),
            ...vSplat,
            ...set(du),
            ...fma(c[2 * u] as number, du, x0),
            ...fma(c[2 * u + 1] as number, du, x1),
          ]),
          ...inc(pd, get(doutB)),
          ...inc(pa, get(rowB)),
        ]),
        ...get(g),
        ...get(j),
        ...get(rowB),
        mul,
        add,
        ...get(k),
        ...i32(8),
        mul,
        add,
        ...set(pg),
        ...[0, 1, 2, 3].flatMap((u) => [0, 1].flatMap((h) => accumulate(u, h))),
      ]),
    ]),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [...new Array<number>(8).fill(I32), ...new Array<number>(11).fill(V128)],
    code,
  };
}

/**
 * biasGrad(d, rows, nout2, nout, gb): for units j < nout2 (a multiple of 2), gb[j] += Σ_r d[r][j],
 * the rows summed in order.
 */
function biasGradBody(): { params: number[]; locals: number[]; code: Code } {
  const [d, rows, nout2, nout, gb] = [0, 1, 2, 3, 4];
  const [j, r, pd, doutB] = [5, 6, 7, 8];
  const acc = 9;
  const code: Code = [
    ...get(nout),
    ...i32(8),
    mul,
    ...set(doutB),
    ...i32(0),
    ...set(j),
    ...forLt(j, get(nout2), i32(2), [
      ...vZero,
      ...set(acc),
      ...get(d),
      ...get(j),
      ...i32(8),
      mul,
      add,
      ...set(pd),
      ...i32(0),
      ...set(r),
      ...forLt(r, get(rows), i32(1), [
        ...get(acc),
        ...get(pd),
        ...vLoad,
        ...vAdd,
        ...set(acc),
        ...inc(pd, get(doutB)),
      ]),
      ...get(gb),
      ...get(j),
      ...i32(8),
      mul,
      add,
      ...get(gb),
      ...get(j),
      ...i32(8),
      mul,
      add,
      ...vLoad,
      ...get(acc),
      ...vAdd,
      ...vStore,
    ]),
  ];
  return {
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, V128],
    code,
  };
}

/**
 * inputGrad(d, w, rows, nin2, nin, nout, prev, a, relu, addTo): for inputs k < nin2 (a multiple of
 * 2), prev[r][k] = Σ_j d[r][j] · w[j][k] (units in order, after prev[r][k] itself when addTo ≠ 0),
 * zeroed where a[r][k] ≤ 0 when relu ≠ 0. With one row it also serves a one-unit layer's weight
 * gradient: Σ_r d[r] · a[r][k] is the same product with a in the place of w.
 */
function inputGradBody(): { params: number[]; locals: number[]; code: Code } {
  const [d, w, rows, nin2, nin, nout, prev, a, relu, addTo] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, k, pj, pw, rowB, doutB, pd, pk, kv, dEnd] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
  const acc = 20;
  const code: Code = [
    ...get(nin),
    ...i32(8),
    mul,
    ...set(rowB),
    ...get(nout),
    ...i32(8),
    mul,
    ...set(doutB),
    ...get(nin2),
    ...i32(8),
    mul,
    ...set(kv),
    ...i32(0),
    ...set(r),
    ...forLt(r, get(rows), i32(1), [
      ...get(d),
      ...get(r),
      ...get(doutB),
      mul,
      add,
      ...set(pd),
      ...get(pd),
      ...get(doutB),
      add,
      ...set(dEnd),
      // pk: byte offset of row r in prev and a
      ...get(r),
      ...get(rowB),
      mul,
      ...set(pk),
      ...i32(0),
      ...set(k),
      ...forLt(k, get(kv), i32(16), [
        ...get(prev),
        ...get(pk),
        add,
        ...get(k),
        add,
        ...vLoad,
        ...vZero,
        ...get(addTo),
        0x1b, // select: prev's value or zero
        ...set(acc),
        ...get(pd),
        ...set(pj),
        ...get(w),
        ...get(k),
        add,
        ...set(pw),
        // pj walks d's row r (unit by unit), pw the weight rows' columns k, k + 1.
        ...forLt(pj, get(dEnd), i32(8), [
          ...get(acc),
          ...get(pj),
          ...f64Load(),
          ...vSplat,
          ...get(pw),
          ...vLoad,
          ...vMul,
          ...vAdd,
          ...set(acc),
          ...inc(pw, get(rowB)),
        ]),
        ...[...get(relu), 0x04, 0x40],
        ...get(acc),
        ...get(a),
        ...get(pk),
        add,
        ...get(k),
        add,
        ...vLoad,
        ...vZero,
        ...simd(0x4a), // f64x2.gt
        ...simd(0x4e), // v128.and
        ...set(acc),
        0x0b,
        ...get(prev),
        ...get(pk),
        add,
        ...get(k),
        add,
        ...get(acc),
        ...vStore,
      ]),
    ]),
  ];
  return {
    params: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [...new Array<number>(10).fill(I32), V128],
    code,
  };
}

function assemble(): Uint8Array {
  const fns = [
    { name: 'forward', ...forwardBody() },
    { name: 'weightGrad', ...weightGradBody() },
    { name: 'biasGrad', ...biasGradBody() },
    { name: 'inputGrad', ...inputGradBody() },
  ];
  const types = fns.map((f) => [0x60, ...vec(f.params.map((p) => [p])), 0]);
  const bodies = fns.map((f) => {
    // Locals as runs of one type.
    const runs: number[][] = [];
    for (const t of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0] = (last[0] as number) + 1;
      else runs.push([1, t]);
    }
    const body = [...vec(runs.map(([n, t]) => [...uleb(n as number), t as number])), ...f.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vec(fns.map((_, i) => [i]))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, i]))),
    ...section(10, vec(bodies)),
  ]);
}

// ---- the runtime side ---------------------------------------------------------------------

/** The slice of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}

type ForwardFn = (
  a: number,
  rows4: number,
  nin: number,
  w: number,
  b: number,
  out: number,
  nout: number,
  floor: number,
) => void;
type BiasGradFn = (d: number, rows: number, nout2: number, nout: number, gb: number) => void;
type InputGradFn = (
  d: number,
  w: number,
  rows: number,
  nin2: number,
  nin: number,
  nout: number,
  prev: number,
  a: number,
  relu: number,
  addTo: number,
) => void;
type WeightGradFn = (
  d: number,
  a: number,
  rows: number,
  nin: number,
  nout: number,
  g: number,
  j4: number,
  k4: number,
) => void;

let compiled: object | null | undefined;

function wasmModule(): object | null {
  if (compiled !== undefined) return compiled;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const bytes = assemble();
  compiled = api?.validate(bytes) ? new api.Module(bytes) : null;
  return compiled;
}

/** Whether the kernels run as wasm SIMD here (else createArena hands back the plain ones). */
export function simdAvailable(): boolean {
  return wasmModule() !== null;
}

/** The dense-layer kernels the MLP trainer calls; arrays are Float64Arrays, offsets in elements. */
export interface DenseKernels {
  /** out = a·wᵀ + bias (relu fused when asked): kernels.ts's denseForward. */
  forward: typeof denseForward;
  /** Adds the layer's weight and bias gradients into grad: kernels.ts's denseWeightGrad. */
  weightGrad: typeof denseWeightGrad;
  /**
   * prev[r][k] = Σ_j d[r][j] · w[j][k], the gradient reaching the layer's inputs a (prev: rows ×
   * nin, overwritten), zeroed where a ≤ 0 when `relu` (a holds relu outputs).
   */
  inputGrad(
    d: Float64Array,
    w: Float64Array,
    wo: number,
    rows: number,
    nin: number,
    nout: number,
    prev: Float64Array,
    a: Float64Array,
    relu: boolean,
  ): void;
}

/** Float64Arrays allocated from one block of memory, and kernels that run on them. */
export interface Arena {
  alloc(length: number): Float64Array;
  readonly kernels: DenseKernels;
  /** Whether the kernels run as wasm SIMD (false: the engine lacks it; plain loops then). */
  readonly simd: boolean;
}

/** An arena with room for `doubles` doubles in all (each allocation is rounded up to 2). */
export function createArena(doubles: number, fallback: DenseKernels): Arena {
  const module = wasmModule();
  if (!module) {
    return { alloc: (n) => new Float64Array(n), kernels: fallback, simd: false };
  }
  const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const memory = new api.Memory({ initial: Math.max(1, Math.ceil((doubles * 8 + 64) / 65536)) });
  const { exports } = new api.Instance(module, { m: { mem: memory } });
  const fwd = exports.forward as ForwardFn;
  const wgrad = exports.weightGrad as WeightGradFn;
  const bgrad = exports.biasGrad as BiasGradFn;
  const igrad = exports.inputGrad as InputGradFn;
  const buffer = memory.buffer;
  let used = 0;
  const alloc = (n: number): Float64Array => {
    const size = n + (n & 1);
    if ((used + size) * 8 > buffer.byteLength) throw new RangeError('arena exhausted');
    // Buffers start 16-byte aligned, so a row that starts a buffer loads as aligned f64x2 pairs.
    const view = new Float64Array(buffer, used * 8, n);
    used += size;
    return view;
  };
  const mine = (x: Float64Array) => x.buffer === buffer;
  const kernels: DenseKernels = {
    forward(a, rows, nin, w, wo, bo, out, nout, relu) {
      if (!(mine(a) && mine(w) && mine(out)))
        return fallback.forward(a, rows, nin, w, wo, bo, out, nout, relu);
      const floor = relu ? 0 : -Infinity;
      const rows4 = rows - (rows & 3);
      if (rows4 > 0 && nout > 0)
        fwd(
          a.byteOffset,
          rows4,
          nin,
          w.byteOffset + 8 * wo,
          w.byteOffset + 8 * bo,
          out.byteOffset,
          nout,
          floor,
        );
      // The last rows (fewer than 4).
      for (let r = rows4; r < rows; r++) {
        for (let j = 0; j < nout; j++)
          out[r * nout + j] = Math.max((w[bo + j] as number) + dot(w, wo + j * nin, a, r * nin, nin), floor);
      }
    },
    weightGrad(d, a, rows, nin, nout, grad, wo, bo) {
      if (!(mine(d) && mine(a) && mine(grad)))
        return fallback.weightGrad(d, a, rows, nin, nout, grad, wo, bo);
      const j4 = nout - (nout & 3);
      const k4 = nin - (nin & 3);
      if (j4 > 0 && k4 > 0)
        wgrad(d.byteOffset, a.byteOffset, rows, nin, nout, grad.byteOffset + 8 * wo, j4, k4);
      // A one-unit layer (a sigmoid or regression head): d is one contiguous column, and the
      // weight gradient is inputGrad's product for a single row with a in the weights' place.
      const nin2 = nin - (nin & 1);
      const head = nout === 1 && nin2 > 0;
      if (head) {
        const g = grad.byteOffset + 8 * wo;
        igrad(d.byteOffset, a.byteOffset, 1, nin2, nin, rows, g, g, 0, 1);
      }
      for (let j = 0; j < nout; j++) {
        const from = head ? nin2 : j < j4 ? k4 : 0;
        if (from === nin) continue;
        const go = wo + j * nin;
        if (from === 0) {
          for (let r = 0; r < rows; r++) {
            const dj = d[r * nout + j] as number;
            if (dj !== 0) axpy(dj, a, r * nin, grad, go, nin);
          }
        } else {
          for (let k = from; k < nin; k++) {
            let s = 0;
            for (let r = 0; r < rows; r++) s += (d[r * nout + j] as number) * (a[r * nin + k] as number);
            grad[go + k] = (grad[go + k] as number) + s;
          }
        }
      }
      const nout2 = nout - (nout & 1);
      if (nout2 > 0) bgrad(d.byteOffset, rows, nout2, nout, grad.byteOffset + 8 * bo);
      for (let jj = nout2; jj < nout; jj++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += d[r * nout + jj] as number;
        grad[bo + jj] = (grad[bo + jj] as number) + s;
      }
    },
    inputGrad(d, w, wo, rows, nin, nout, prev, a, relu) {
      if (!(mine(d) && mine(w) && mine(prev) && mine(a)))
        return fallback.inputGrad(d, w, wo, rows, nin, nout, prev, a, relu);
      const nin2 = nin - (nin & 1);
      if (nin2 > 0)
        igrad(
          d.byteOffset,
          w.byteOffset + 8 * wo,
          rows,
          nin2,
          nin,
          nout,
          prev.byteOffset,
          a.byteOffset,
          relu ? 1 : 0,
          0,
        );
      for (let k = nin2; k < nin; k++) {
        for (let r = 0; r < rows; r++) {
          let s = 0;
          for (let j = 0; j < nout; j++) s += (d[r * nout + j] as number) * (w[wo + j * nin + k] as number);
          prev[r * nin + k] = relu && (a[r * nin + k] as number) <= 0 ? 0 : s;
        }
      }
    },
  };
  return { alloc, kernels, simd: true };
}
