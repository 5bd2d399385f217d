#!/usr/bin/env node
// Writes the package's usr/share/doc/avscene/copyright (machine-readable, DEP-5) for a staged app (deploy/package.sh):
//
//   node deploy/copyright.mjs APP > copyright     (APP: the staged /opt/avscene, node_modules already pruned)
//
// avscene itself, every npm module that ships in APP/node_modules (name, version, licence from its package.json,
// copyright line from its licence file or its author), ONNX Runtime's native library, and the demo clip. Each licence
// named gets a stand-alone paragraph: Debian's common licences by reference, the others with their text, taken from
// a module that ships it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { installedPackages } from './node-packages.mjs';

const app = process.argv[2];
if (!app || !existsSync(path.join(app, 'package.json'))) {
  console.error('usage: node deploy/copyright.mjs APP > copyright');
  process.exit(64);
}
const own = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8'));
const modules = path.join(app, 'node_modules');
const COMMON = { 'Apache-2.0': 'Apache-2.0', 'GPL-2.0': 'GPL-2', 'GPL-3.0': 'GPL-3', 'LGPL-2.1': 'LGPL-2.1' };
const LICENSE_FILE = /^(LICEN[CS]E|COPYING)/i;

/** SPDX expression → DEP-5 syntax (`MIT OR Apache-2.0` → `MIT or Apache-2.0`), and its licence ids. */
function licenceOf(pkg) {
  let spdx = pkg.license ?? pkg.licenses ?? 'UNKNOWN';
  if (Array.isArray(spdx)) spdx = spdx.map((l) => l.type ?? l).join(' OR ');
  else if (typeof spdx === 'object') spdx = spdx.type ?? 'UNKNOWN';
  spdx = String(spdx).replace(/^\((.*)\)$/, '$1');
  const ids = spdx.split(/\s+(?:OR|AND)\s+/i).map((id) => id.replace(/[()]/g, '').trim());
  return { expression: spdx.replace(/\s+OR\s+/gi, ' or ').replace(/\s+AND\s+/gi, ' and ').replace(/[()]/g, ''), ids };
}

function licenceText(dir) {
  const file = readdirSync(dir).find((f) => LICENSE_FILE.test(f));
  return file ? readFileSync(path.join(dir, file), 'utf8') : null;
}

function copyrightOf(pkg, text) {
  const lines = (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(\(c\)|copyright)\s/i.test(l) && !/copyright (notice|holders?|owner)/i.test(l));
  if (lines.length > 0) return [...new Set(lines)].slice(0, 5);
  const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return [author ? `${author.replace(/\s*[<(].*$/, '')}` : `the ${pkg.name} authors`];
}

const field = (name, lines) => `${name}: ${lines[0]}${lines.slice(1).map((l) => `\n ${l}`).join('')}`;
const body = (text) =>
  text
    .trim()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l.trimEnd()}`))
    .join('\n');

const paragraphs = [
  [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    'Upstream-Name: avscene',
    `Comment: The application under /opt/avscene bundles the npm modules listed below (as installed by npm from its
 lockfile, build-only modules removed) and ONNX Runtime's native library. OpenCV, FFmpeg and the other
 system libraries come from their own Debian packages.`,
  ].join('\n'),
  ['Files: *', `Copyright: the ${own.name} developers`, `License: ${own.license}`].join('\n'),
  [
    'Files: opt/avscene/deploy/demo/*',
    'Copyright: 2017 Detection and Classification of Acoustic Scenes and Events (DCASE)',
    'License: MIT',
    'Comment: The demo clip comes with dcase_util (deploy/demo/LICENSE-dcase_util.txt).',
  ].join('\n'),
  [
    'Files: opt/avscene/node_modules/onnxruntime-node/* opt/avscene/node_modules/onnxruntime-common/*',
    'Copyright: Microsoft Corporation',
    'License: MIT',
    `Comment: ONNX Runtime ${JSON.parse(readFileSync(path.join(modules, 'onnxruntime-node', 'package.json'), 'utf8')).version}, including its native library (bin/). The third-party
 components built into that library are listed in
 https://github.com/microsoft/onnxruntime/blob/main/ThirdPartyNotices.txt`,
  ].join('\n'),
];

const texts = new Map([['MIT', null]]);
for (const dir of installedPackages(modules).sort()) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  if (!pkg.name || pkg.name.startsWith('onnxruntime-')) continue;
  const { expression, ids } = licenceOf(pkg);
  const text = licenceText(dir);
  for (const id of ids) if (!texts.get(id) && ids.length === 1 && text) texts.set(id, text);
  for (const id of ids) if (!texts.has(id)) texts.set(id, null);
  paragraphs.push(
    [
      `Files: ${path.relative(app, dir).replace(/^/, 'opt/avscene/')}/*`,
      field('Copyright', copyrightOf(pkg, text)),
      `License: ${expression}`,
      `Comment: ${pkg.name} ${pkg.version}`,
    ].join('\n'),
  );
}
texts.set('MIT', texts.get('MIT') ?? readFileSync(path.join(app, 'deploy', 'demo', 'LICENSE-dcase_util.txt'), 'utf8'));

for (const [id, text] of [...texts].sort(([a], [b]) => a.localeCompare(b))) {
  if (COMMON[id]) {
    paragraphs.push(`License: ${id}\n On Debian systems, the full text of the ${id} licence is in\n /usr/share/common-licenses/${COMMON[id]}.`);
  } else if (text) {
    // The licence's terms, without the copyright lines of the module it was taken from.
    const terms = text
      .split('\n')
      .filter((l) => !/^\s*(\(c\)|copyright)\s/i.test(l) || /copyright (notice|holders?|owner)/i.test(l))
      .join('\n')
      .replace(/^\s*(The )?MIT License( \(MIT\))?\s*/i, '');
    paragraphs.push(`License: ${id}\n${body(terms)}`);
  } else {
    paragraphs.push(`License: ${id}\n The text of this licence is at https://spdx.org/licenses/${id}.html`);
  }
}
process.stdout.write(`${paragraphs.join('\n\n')}\n`);
