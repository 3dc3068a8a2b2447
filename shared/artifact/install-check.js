/*
 * The Install step of every component runs this file from the component's artifact folder:
 *   node <artifact folder>/install-check.js <ComponentName>
 * It checks what the artifact needs from the gateway and says in one line what is missing. It is written
 * for old Node versions too (no modern syntax), so that a gateway with a too-old Node gets the message
 * instead of a syntax error. What the artifact was built for is in build-info.json beside this file.
 */
'use strict';
var fs = require('fs');
var path = require('path');

var component = process.argv[2] || 'this component';
var MIN_NODE_MAJOR = 20;

function fail(message) {
  console.error(component + ': ' + message);
  process.exit(1);
}

function versionParts(text) {
  return String(text)
    .replace(/^v/, '')
    .split('.')
    .map(function (n) {
      return Number(n) || 0;
    });
}

function older(have, need) {
  var a = versionParts(have);
  var b = versionParts(need);
  for (var i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) < (b[i] || 0);
  }
  return false;
}

var major = versionParts(process.version)[0];
if (major < MIN_NODE_MAJOR) fail('needs Node.js >= ' + MIN_NODE_MAJOR + ', found ' + process.version);

var infoFile = path.join(__dirname, 'build-info.json');
var info = {};
if (fs.existsSync(infoFile)) info = JSON.parse(fs.readFileSync(infoFile, 'utf8'));

// better-sqlite3 is bound to the Node ABI that built it (it is not N-API).
if (info.abiBound && info.modules !== process.versions.modules) {
  fail(
    'was built for Node ' +
      info.node +
      ' (ABI ' +
      info.modules +
      '), found ' +
      process.version +
      ' (ABI ' +
      process.versions.modules +
      '): build the components with this Node major',
  );
}

// Native binaries need at least the glibc they were linked against.
if (info.glibc) {
  var report = process.report && process.report.getReport ? process.report.getReport() : undefined;
  var header = report && (typeof report === 'string' ? JSON.parse(report).header : report.header);
  var runtime = header && header.glibcVersionRuntime;
  if (!runtime)
    fail(
      'needs glibc >= ' +
        info.glibc +
        ' (Debian 12, Raspberry Pi OS 12 or later); this system does not use glibc',
    );
  if (older(runtime, info.glibc))
    fail('needs glibc >= ' + info.glibc + ' (Debian 12, Raspberry Pi OS 12 or later), found ' + runtime);
}
