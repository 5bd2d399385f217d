/**
 * Mixed-radix (8, 4, 2, 3) complex FFT: Stockham autosort (no bit reversal), float64, interleaved complex data,
 * precomputed twiddles; plus a fused last stage that yields the power spectra of two real signals at once.
 *
 * Why our own: the spec's N = 24576 = 2^13 · 3 is not a power of two, which rules out fft.js (the common npm
 * choice: radix 4, powers of two only). The npm packages that do mixed radix (kissfft-js/-wasm, pffft-wasm) are
 * Emscripten builds outside the project's fixed dependency list; pure JS keeps the daemon dependency-free
 * here and runs all three features in well under half the NumPy reference's time. The two real channels of a
 * frame (average a, difference d) go through ONE complex transform as a + i·d, separated in pairPower(), so a
 * frame costs one 24576-point complex FFT. Measured on this project's 2-core EPYC (CPU ms per transform, see
 * BENCHMARKS.md § Audio features): split re/im arrays, radix 4: 0.49; interleaved, radix 4: 0.39; interleaved, radix 8
 * first (8·8·8·8·2·3): 0.36; 8·8·8·4·4·3 (no 4 KiB-aliasing output stride): 0.32.
 */

interface Stage {
  radix: 2 | 3 | 4 | 8;
  /** Butterflies per stride block (= transform length of this stage / radix). */
  m: number;
  /** Stride: product of the radices of the earlier stages. */
  s: number;
  /** Twiddles w_p^j = exp(-2πi·p·j/(radix·m)), interleaved re/im, stored [p][j-1]. */
  tw: Float64Array;
}

const SIN_60 = Math.sqrt(3) / 2;
const SQRT_HALF = Math.SQRT1_2;

export class ComplexFft {
  /** Fill with the input (re at 2n, im at 2n+1), then call transform(). It is overwritten. */
  readonly data: Float64Array;
  private readonly work: Float64Array;
  private readonly stages: Stage[] = [];

  constructor(readonly size: number) {
    this.data = new Float64Array(2 * size);
    this.work = new Float64Array(2 * size);
    let n = size;
    let s = 1;
    while (n > 1) {
      // Radix 8 while 16 or more powers of two remain, then 4s and 2, then 3s last: for 24576 that is 8·8·8·4·4·3,
      // 10% faster than 8·8·8·8·2·3, whose fourth stage writes at a 4 KiB-aliasing stride.
      const radix = n % 128 === 0 ? 8 : n % 4 === 0 ? 4 : n % 2 === 0 ? 2 : n % 3 === 0 ? 3 : fail(size);
      const m = n / radix;
      const tw = new Float64Array(2 * m * (radix - 1));
      for (let p = 0; p < m; p++) {
        for (let j = 1; j < radix; j++) {
          const angle = (-2 * Math.PI * p * j) / n;
          tw[2 * (p * (radix - 1) + j - 1)] = Math.cos(angle);
          tw[2 * (p * (radix - 1) + j - 1) + 1] = Math.sin(angle);
        }
      }
      this.stages.push({ radix, m, s, tw });
      n = m;
      s *= radix;
    }
  }

  /** Forward DFT, X[k] = Σ x[n] e^(-2πi kn/N), of `data`. Returns the array holding the result (interleaved). */
  transform(): Float64Array {
    return this.run(this.stages.length);
  }

  /**
   * For data = a + i·d with a and d real: the power spectra |A[k]|² and |D[k]|², k = 0 … N/2, written to
   * power[offset + 2k] and power[offset + 2k + 1]. The last (radix-3) stage is fused with the
   * separation A[k] = (Z[k] + conj Z[N−k]) / 2, D[k] = (Z[k] − conj Z[N−k]) / (2i), so Z is never stored.
   * Needs a plan that ends with radix 3 (N = 2^a·3^b, b ≥ 1).
   */
  pairPower(power: Float64Array, offset: number): void {
    const last = this.stages[this.stages.length - 1];
    if (last?.radix !== 3) throw new RangeError(`pairPower needs N divisible by 3, got ${this.size}`);
    const x = this.run(this.stages.length - 1);
    const s2 = 2 * last.s;
    const third = last.s;
    // Radix-3 outputs of column q: Z[q], Z[q + s], Z[q + 2s]. Column q pairs with column s − q:
    // Z[q] ↔ Z[N − q] = Z[(s − q) + 2s], Z[q + s] ↔ Z[(s − q) + s], Z[q + 2s] ↔ Z[s − q].
    for (let q = 0; q <= third / 2; q++) {
      const i = 2 * q;
      const t1r = x[i + s2]! + x[i + 2 * s2]!,
        t1i = x[i + s2 + 1]! + x[i + 2 * s2 + 1]!;
      const u1r = x[i + s2]! - x[i + 2 * s2]!,
        u1i = x[i + s2 + 1]! - x[i + 2 * s2 + 1]!;
      const c1r = x[i]! - 0.5 * t1r,
        c1i = x[i + 1]! - 0.5 * t1i;
      const z0r = x[i]! + t1r,
        z0i = x[i + 1]! + t1i;
      const z1r = c1r + SIN_60 * u1i,
        z1i = c1i - SIN_60 * u1r;
      const z2r = c1r - SIN_60 * u1i,
        z2i = c1i + SIN_60 * u1r;
      if (q === 0) {
        // Z[0] pairs with itself; Z[s] with Z[2s].
        power[offset] = z0r * z0r;
        power[offset + 1] = z0i * z0i;
        pair(z1r, z1i, z2r, z2i, power, offset + 2 * third);
        continue;
      }
      const j = 2 * (third - q);
      const t2r = x[j + s2]! + x[j + 2 * s2]!,
        t2i = x[j + s2 + 1]! + x[j + 2 * s2 + 1]!;
      const u2r = x[j + s2]! - x[j + 2 * s2]!,
        u2i = x[j + s2 + 1]! - x[j + 2 * s2 + 1]!;
      const c2r = x[j]! - 0.5 * t2r,
        c2i = x[j + 1]! - 0.5 * t2i;
      const w0r = x[j]! + t2r,
        w0i = x[j + 1]! + t2i;
      const w1r = c2r + SIN_60 * u2i,
        w1i = c2i - SIN_60 * u2r;
      const w2r = c2r - SIN_60 * u2i,
        w2i = c2i + SIN_60 * u2r;
      pair(z0r, z0i, w2r, w2i, power, offset + 2 * q);
      pair(z1r, z1i, w1r, w1i, power, offset + 2 * (q + third));
      // Z[q + 2s] ↔ Z[s − q]: bin s − q (below N/2; for q = s/2 it is the same pair as bin q).
      pair(w0r, w0i, z2r, z2i, power, offset + 2 * (third - q));
    }
  }

  /** Runs the first `count` stages; returns the array holding their output. */
  private run(count: number): Float64Array {
    let x = this.data;
    let y = this.work;
    for (let i = 0; i < count; i++) {
      const { radix, m, s, tw } = this.stages[i]!;
      if (radix === 8) radix8(m, s, tw, x, y);
      else if (radix === 4) radix4(m, s, tw, x, y);
      else if (radix === 2) radix2(m, s, tw, x, y);
      else radix3(m, s, tw, x, y);
      const t = x;
      x = y;
      y = t;
    }
    return x;
  }
}

/** y[o], y[o + 1] = (br + i·bi)·(wr + i·wi): a butterfly output times its twiddle (V8 inlines it). */
function rotate(y: Float64Array, o: number, br: number, bi: number, wr: number, wi: number): void {
  y[o] = br * wr - bi * wi;
  y[o + 1] = br * wi + bi * wr;
}

/** |A|² and |D|² of the pair (X = Z[k], Y = Z[N−k]) at power[o], power[o + 1]. */
function pair(xr: number, xi: number, yr: number, yi: number, power: Float64Array, o: number): void {
  const ar = xr + yr,
    ai = xi - yi,
    dr = xi + yi,
    di = yr - xr;
  power[o] = 0.25 * (ar * ar + ai * ai);
  power[o + 1] = 0.25 * (dr * dr + di * di);
}

function fail(size: number): never {
  throw new RangeError(`FFT size ${size} is not of the form 2^a·3^b`);
}

// Each butterfly reads x[q + s·(p + j·m)], j = 0 … r−1, and writes y[q + s·(r·p + j)] = w_p^j · Σ_k x_k ω_r^(jk).
// Indices below are in doubles (2 per complex value).

function radix8(m: number, s: number, tw: Float64Array, x: Float64Array, y: Float64Array): void {
  const d = 2 * s * m;
  const os = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 14 * p;
    const w1r = tw[t]!,
      w1i = tw[t + 1]!,
      w2r = tw[t + 2]!,
      w2i = tw[t + 3]!,
      w3r = tw[t + 4]!,
      w3i = tw[t + 5]!;
    const w4r = tw[t + 6]!,
      w4i = tw[t + 7]!,
      w5r = tw[t + 8]!,
      w5i = tw[t + 9]!;
    const w6r = tw[t + 10]!,
      w6i = tw[t + 11]!,
      w7r = tw[t + 12]!,
      w7i = tw[t + 13]!;
    let i = 2 * s * p;
    let o = 16 * s * p;
    const end = i + 2 * s;
    for (; i < end; i += 2, o += 2) {
      const a0r = x[i]!,
        a0i = x[i + 1]!,
        a1r = x[i + d]!,
        a1i = x[i + d + 1]!;
      const a2r = x[i + 2 * d]!,
        a2i = x[i + 2 * d + 1]!,
        a3r = x[i + 3 * d]!,
        a3i = x[i + 3 * d + 1]!;
      const a4r = x[i + 4 * d]!,
        a4i = x[i + 4 * d + 1]!,
        a5r = x[i + 5 * d]!,
        a5i = x[i + 5 * d + 1]!;
      const a6r = x[i + 6 * d]!,
        a6i = x[i + 6 * d + 1]!,
        a7r = x[i + 7 * d]!,
        a7i = x[i + 7 * d + 1]!;
      // 4-point DFTs of the even (a0, a2, a4, a6) and odd (a1, a3, a5, a7) inputs …
      const e0r = a0r + a4r,
        e0i = a0i + a4i,
        e1r = a0r - a4r,
        e1i = a0i - a4i;
      const e2r = a2r + a6r,
        e2i = a2i + a6i,
        e3r = a2i - a6i,
        e3i = a6r - a2r;
      const E0r = e0r + e2r,
        E0i = e0i + e2i,
        E2r = e0r - e2r,
        E2i = e0i - e2i;
      const E1r = e1r + e3r,
        E1i = e1i + e3i,
        E3r = e1r - e3r,
        E3i = e1i - e3i;
      const o0r = a1r + a5r,
        o0i = a1i + a5i,
        o1r = a1r - a5r,
        o1i = a1i - a5i;
      const o2r = a3r + a7r,
        o2i = a3i + a7i,
        o3r = a3i - a7i,
        o3i = a7r - a3r;
      const O0r = o0r + o2r,
        O0i = o0i + o2i,
        O2r = o0r - o2r,
        O2i = o0i - o2i;
      const O1r = o1r + o3r,
        O1i = o1i + o3i,
        O3r = o1r - o3r,
        O3i = o1i - o3i;
      // … combined with W8^j = exp(−iπj/4): W8·O1 = (1−i)/√2·O1, W8²·O2 = −i·O2, W8³·O3 = −(1+i)/√2·O3.
      const P1r = SQRT_HALF * (O1r + O1i),
        P1i = SQRT_HALF * (O1i - O1r);
      const P2r = O2i,
        P2i = -O2r;
      const P3r = SQRT_HALF * (O3i - O3r),
        P3i = -SQRT_HALF * (O3r + O3i);
      y[o] = E0r + O0r;
      y[o + 1] = E0i + O0i;
      rotate(y, o + os, E1r + P1r, E1i + P1i, w1r, w1i);
      rotate(y, o + 2 * os, E2r + P2r, E2i + P2i, w2r, w2i);
      rotate(y, o + 3 * os, E3r + P3r, E3i + P3i, w3r, w3i);
      rotate(y, o + 4 * os, E0r - O0r, E0i - O0i, w4r, w4i);
      rotate(y, o + 5 * os, E1r - P1r, E1i - P1i, w5r, w5i);
      rotate(y, o + 6 * os, E2r - P2r, E2i - P2i, w6r, w6i);
      rotate(y, o + 7 * os, E3r - P3r, E3i - P3i, w7r, w7i);
    }
  }
}

function radix4(m: number, s: number, tw: Float64Array, x: Float64Array, y: Float64Array): void {
  const d = 2 * s * m;
  const os = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 6 * p;
    const w1r = tw[t]!,
      w1i = tw[t + 1]!,
      w2r = tw[t + 2]!,
      w2i = tw[t + 3]!,
      w3r = tw[t + 4]!,
      w3i = tw[t + 5]!;
    let i = 2 * s * p;
    let o = 8 * s * p;
    const end = i + 2 * s;
    for (; i < end; i += 2, o += 2) {
      const a0r = x[i]!,
        a0i = x[i + 1]!,
        a1r = x[i + d]!,
        a1i = x[i + d + 1]!;
      const a2r = x[i + 2 * d]!,
        a2i = x[i + 2 * d + 1]!,
        a3r = x[i + 3 * d]!,
        a3i = x[i + 3 * d + 1]!;
      const t0r = a0r + a2r,
        t0i = a0i + a2i,
        t1r = a0r - a2r,
        t1i = a0i - a2i;
      // t3 = −i·(a1 − a3)
      const t2r = a1r + a3r,
        t2i = a1i + a3i,
        t3r = a1i - a3i,
        t3i = a3r - a1r;
      y[o] = t0r + t2r;
      y[o + 1] = t0i + t2i;
      rotate(y, o + os, t1r + t3r, t1i + t3i, w1r, w1i);
      rotate(y, o + 2 * os, t0r - t2r, t0i - t2i, w2r, w2i);
      rotate(y, o + 3 * os, t1r - t3r, t1i - t3i, w3r, w3i);
    }
  }
}

function radix2(m: number, s: number, tw: Float64Array, x: Float64Array, y: Float64Array): void {
  const d = 2 * s * m;
  const os = 2 * s;
  for (let p = 0; p < m; p++) {
    const wr = tw[2 * p]!,
      wi = tw[2 * p + 1]!;
    let i = 2 * s * p;
    let o = 4 * s * p;
    const end = i + 2 * s;
    for (; i < end; i += 2, o += 2) {
      const a0r = x[i]!,
        a0i = x[i + 1]!,
        a1r = x[i + d]!,
        a1i = x[i + d + 1]!;
      y[o] = a0r + a1r;
      y[o + 1] = a0i + a1i;
      rotate(y, o + os, a0r - a1r, a0i - a1i, wr, wi);
    }
  }
}

function radix3(m: number, s: number, tw: Float64Array, x: Float64Array, y: Float64Array): void {
  const d = 2 * s * m;
  const os = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 4 * p;
    const w1r = tw[t]!,
      w1i = tw[t + 1]!,
      w2r = tw[t + 2]!,
      w2i = tw[t + 3]!;
    let i = 2 * s * p;
    let o = 6 * s * p;
    const end = i + 2 * s;
    for (; i < end; i += 2, o += 2) {
      const a0r = x[i]!,
        a0i = x[i + 1]!,
        a1r = x[i + d]!,
        a1i = x[i + d + 1]!,
        a2r = x[i + 2 * d]!,
        a2i = x[i + 2 * d + 1]!;
      const tr = a1r + a2r,
        ti = a1i + a2i,
        ur = a1r - a2r,
        ui = a1i - a2i;
      const cr = a0r - 0.5 * tr,
        ci = a0i - 0.5 * ti;
      // y1 = a0 − t/2 − i·(√3/2)·u, y2 = a0 − t/2 + i·(√3/2)·u
      const b1r = cr + SIN_60 * ui,
        b1i = ci - SIN_60 * ur;
      const b2r = cr - SIN_60 * ui,
        b2i = ci + SIN_60 * ur;
      y[o] = a0r + tr;
      y[o + 1] = a0i + ti;
      rotate(y, o + os, b1r, b1i, w1r, w1i);
      rotate(y, o + 2 * os, b2r, b2i, w2r, w2i);
    }
  }
}
