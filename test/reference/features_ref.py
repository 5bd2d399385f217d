#!/usr/bin/python3
"""Float64 NumPy reference of docs/spec/features.md (v1), written straight from the spec text.

Dense filterbank matrices, np.fft.rfft, no truncation, no shortcuts: this is what the TypeScript features
(src/features/) are checked against, and what the feature benchmark compares with.

Usage:
  features_ref.py run JOBS.json     JOBS.json: [{"input": "x.wav" | "x.npy", "kinds": [...], "mode": "clip"|"window",
                                    "out": "PREFIX"}]; writes PREFIX.<kind>.npy (float64). A .npy input is a
                                    float32/64 array [2, n] at 48 kHz; a WAV must be 48 kHz (this file does not resample).
  features_ref.py bench WINDOW.npy REPS   timings (JSON) for one 1-s stereo window [2, 48000]
"""
import json
import sys
import time

import numpy as np

SR = 48000
N = 24576
H = 8208
NBINS = N // 2 + 1
BANDS = {"logmel": 256, "bark": 256, "scalogram": 290}


# ---------------------------------------------------------------- WAV (independent of the TypeScript decoder)
def read_wav(path):
    """(sample rate, float64 [channels, n]) for PCM 8/16/24/32 and float 32/64, incl. WAVE_FORMAT_EXTENSIBLE."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", f"{path}: not a WAV"
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, ch, sr = np.frombuffer(body[:8], "<u2")[:2].tolist() + [int.from_bytes(body[4:8], "little")]
            bits = int.from_bytes(body[14:16], "little")
            if tag == 0xFFFE:
                tag = int.from_bytes(body[24:26], "little")
            fmt = (tag, ch, sr, bits)
        elif cid == b"data":
            tag, ch, sr, bits = fmt
            if tag == 3:
                x = np.frombuffer(body, "<f4" if bits == 32 else "<f8").astype(np.float64)
            elif bits == 8:
                x = (np.frombuffer(body, "u1").astype(np.float64) - 128) / 128
            elif bits == 24:
                b = np.frombuffer(body, "u1").reshape(-1, 3).astype(np.int32)
                v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
                x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / 2 ** 23
            else:
                x = np.frombuffer(body, {16: "<i2", 32: "<i4"}[bits]).astype(np.float64) / 2 ** (bits - 1)
            return sr, x.reshape(-1, ch).T
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def load_stereo(path):
    if path.endswith(".npy"):
        x = np.load(path).astype(np.float64)
    else:
        sr, x = read_wav(path)
        assert sr == SR, f"{path}: {sr} Hz; the reference takes 48 kHz only"
    return (x[0], x[0]) if x.shape[0] == 1 else (x[0], x[1])


# ---------------------------------------------------------------- filterbanks (dense, [F, NBINS])
FREQS = np.arange(NBINS) * SR / N


def triangles(edges, slaney):
    w = np.zeros((len(edges) - 2, NBINS))
    for j in range(len(edges) - 2):
        lo, c, hi = edges[j], edges[j + 1], edges[j + 2]
        w[j] = np.maximum(0, np.minimum((FREQS - lo) / (c - lo), (hi - FREQS) / (hi - c)))
        if slaney:
            w[j] *= 2 / (hi - lo)
    return w


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f < 1000, 3 * f / 200, 15 + 27 * np.log(np.maximum(f, 1e-300) / 1000) / np.log(6.4))


def mel_to_hz(m):
    return np.where(m < 15, 200 * m / 3, 1000 * np.exp((m - 15) * np.log(6.4) / 27))


def mel_bank():
    return triangles(mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(SR / 2), 258)), True)


def bark_bank():
    z = lambda f: 26.81 * f / (1960 + f) - 0.53
    zinv = lambda v: 1960 * (v + 0.53) / (26.28 - v)
    return triangles(zinv(np.linspace(z(0.0), z(SR / 2), 258)), False)


def scalogram_bank():
    j = np.arange(290)
    c = 24000 * 2.0 ** ((j - 290) / 29)
    s = c * (2 ** (1 / 29) - 1)
    g = np.exp(-((FREQS[None, :] - c[:, None]) ** 2) / (2 * s[:, None] ** 2))
    return g / g.sum(axis=1, keepdims=True)


BANKS = {"logmel": mel_bank, "bark": bark_bank, "scalogram": scalogram_bank}
_cache = {}


def bank(kind):
    if kind not in _cache:
        _cache[kind] = BANKS[kind]()
    return _cache[kind]


# ---------------------------------------------------------------- STFT and features
HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N) / N)


def power_spectrum(x):
    """[T, NBINS] power of the centered, zero-padded, periodic-Hann STFT."""
    T = 1 + len(x) // H
    padded = np.concatenate([np.zeros(N // 2), x, np.zeros(N // 2 + H)])
    frames = np.stack([padded[t * H:t * H + N] for t in range(T)])
    spec = np.fft.rfft(frames * HANN, axis=1)
    return spec.real ** 2 + spec.imag ** 2


def features(left, right, kinds):
    """{kind: [T, 2, F]} dB."""
    a, d = (left + right) / 2, (left - right) / 2
    pa, pd = power_spectrum(a), power_spectrum(d)
    out = {}
    for kind in kinds:
        w = bank(kind)
        e = np.stack([pa @ w.T, pd @ w.T], axis=1)
        out[kind] = 10 * np.log10(np.maximum(e, 1e-10))
    return out


def window_features(left, right, kinds):
    """{kind: [W, 6, 2, F]}: every whole 1-s window framed on its own."""
    windows = len(left) // SR
    per = [features(left[w * SR:(w + 1) * SR], right[w * SR:(w + 1) * SR], kinds) for w in range(windows)]
    return {k: np.stack([p[k] for p in per]) for k in kinds}


def run(jobs_file):
    for job in json.load(open(jobs_file)):
        left, right = load_stereo(job["input"])
        fn = window_features if job["mode"] == "window" else features
        for kind, value in fn(left, right, job["kinds"]).items():
            np.save(f"{job['out']}.{kind}.npy", value)


# ---------------------------------------------------------------- benchmark
def bench(window_file, reps):
    """ms per 1-s window: this reference (dense matmul), and the same with sparse (CSR) filterbanks."""
    import scipy.sparse

    x = np.load(window_file).astype(np.float64)
    left, right = x[0], x[1]
    sparse = {k: scipy.sparse.csr_matrix(np.where(bank(k) > 0, bank(k), 0)) for k in BANDS}

    def sparse_features(kinds):
        a, d = (left + right) / 2, (left - right) / 2
        p = np.concatenate([power_spectrum(a), power_spectrum(d)])
        return {k: 10 * np.log10(np.maximum((sparse[k] @ p.T).T, 1e-10)) for k in kinds}

    result = {}

    def timed(name, fn):
        """Median wall ms and mean CPU ms per call."""
        for _ in range(5):
            fn()
        times = []
        cpu0 = time.process_time()
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        result[name] = float(np.median(times))
        result[name + "_cpu"] = (time.process_time() - cpu0) * 1e3 / reps

    timed("stft", lambda: (power_spectrum((left + right) / 2), power_spectrum((left - right) / 2)))
    for label, kinds in [(k, [k]) for k in BANDS] + [("all", list(BANDS))]:
        timed(f"dense_{label}", lambda: features(left, right, kinds))
        timed(f"sparse_{label}", lambda: sparse_features(kinds))
    print(json.dumps(result))


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2])
    elif sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
