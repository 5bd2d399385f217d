// `node test/run.mjs --coverage` loads this after tsx in every test file's process: the product's modules are then
// loaded from dist/ (tsc's build, which the CLI tests run as child processes anyway) instead of being compiled from
// src/ by tsx. Every process then runs the same JavaScript for a file, so c8 merges their V8 coverage range by range
// before mapping it back to src/ once. Two compilations of one file (tsx's esbuild and tsc) map V8's branch ranges
// to different places in the source, which no merge can line up: a file run both ways counted some branches twice.
import { register } from 'node:module';

register('./coverage-hooks-resolve.mjs', import.meta.url);
