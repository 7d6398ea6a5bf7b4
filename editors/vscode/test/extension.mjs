// src/extension.js under plain node: a stand-in `vscode` module and a recording
// `vscode-languageclient/node` take the editor's place. Checks the server command
// (`<path> ...extraArgs lsp` over stdio), the document selector and file events, the restart
// on a `charter.server.*` change and by command, the message for a missing binary (it names
// the setting), and that deactivate stops the client.
//
// Run by test/run; exits 1 with one line per failure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const failures = [];
const check = (ok, msg) => ok || failures.push(msg);

// ---- the stand-ins ----
let settings = {};
const messages = [];
const commands = new Map();
const configListeners = [];
const clients = [];

const vscode = {
  workspace: {
    getConfiguration: (section) => ({
      get: (key) => settings[`${section}.${key}`],
    }),
    onDidChangeConfiguration: (f) => (configListeners.push(f), { dispose() {} }),
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
  },
  window: {
    createOutputChannel: (name) => ({ name, appendLine() {}, dispose() {} }),
    showErrorMessage: async (msg) => (messages.push(msg), undefined),
  },
  commands: {
    registerCommand: (id, f) => (commands.set(id, f), { dispose() {} }),
    executeCommand: async () => {},
  },
  languages: {
    registerFoldingRangeProvider: (selector, provider) => ({ selector, provider, dispose() {} }),
  },
  FoldingRange: class {
    constructor(start, end, kind) {
      Object.assign(this, { start, end, kind });
    }
  },
  FoldingRangeKind: { Comment: 1 },
};

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, state: 'new' });
    clients.push(this);
  }
  async start() {
    this.state = 'running';
  }
  async stop() {
    this.state = 'stopped';
  }
  async dispose() {
    this.state = 'stopped';
  }
}
const languageclient = { LanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };

const load = Module._load;
// The real client module loads against an empty `vscode`: the stand-in must agree with it.
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return new Proxy({}, { get: (_, key) => (key === '__esModule' ? false : class {}) });
  return load.call(this, request, parent, isMain);
};
const real = require('vscode-languageclient/node');
check(typeof real.LanguageClient === 'function', 'vscode-languageclient/node exports no LanguageClient');
check(real.TransportKind?.stdio === languageclient.TransportKind.stdio, 'the stand-in TransportKind.stdio differs from the real one');
Module._load = function (request, parent, isMain) {
  if (request === 'vscode') return vscode;
  if (request === 'vscode-languageclient/node') return languageclient;
  return load.call(this, request, parent, isMain);
};
const extension = require('../src/extension.js');

// A stand-in charter binary: the extension checks that the file exists before spawning it.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'charter-ext-'));
const binary = path.join(dir, 'charter');
fs.writeFileSync(binary, '#!/bin/sh\n', { mode: 0o755 });

const context = { subscriptions: [] };
const settle = () => new Promise((r) => setTimeout(r, 20));
const running = () => clients.filter((c) => c.state === 'running');

// ---- activation starts `<path> ...extraArgs lsp` ----
settings = { 'charter.server.path': binary, 'charter.server.extraArgs': ['--color', 'never'] };
await extension.activate(context);
check(clients.length === 1, `activate: ${clients.length} clients created, want 1`);
const [first] = clients;
if (first) {
  check(first.id === 'charter', `client id \`${first.id}\`, want \`charter\` (the prefix of charter.trace.server)`);
  check(first.serverOptions.command === binary, `server command \`${first.serverOptions.command}\`, want \`${binary}\``);
  check(JSON.stringify(first.serverOptions.args) === JSON.stringify(['--color', 'never', 'lsp']), `server args ${JSON.stringify(first.serverOptions.args)}, want ["--color","never","lsp"]`);
  check(first.serverOptions.transport === languageclient.TransportKind.stdio, 'the server does not use stdio');
  check(JSON.stringify(first.clientOptions.documentSelector) === JSON.stringify([{ scheme: 'file', language: 'charter' }]), `document selector ${JSON.stringify(first.clientOptions.documentSelector)}`);
  check(first.clientOptions.synchronize?.fileEvents?.glob === '**/*.charter', 'file events are not synchronised for **/*.charter');
  check(first.state === 'running', 'the client was not started');
}
check(commands.has('charter.restartServer'), 'command charter.restartServer is not registered');
check(messages.length === 0, `unexpected messages: ${messages.join(' | ')}`);

// ---- a change of charter.server.* restarts; another setting does not ----
const change = (section) => configListeners.forEach((f) => f({ affectsConfiguration: (s) => section === s || section.startsWith(s + '.') }));
settings['charter.server.extraArgs'] = [];
change('editor.fontSize');
await settle();
check(clients.length === 1, 'a change of an unrelated setting restarted the server');
change('charter.server.extraArgs');
await settle();
check(clients.length === 2 && first?.state === 'stopped', 'a change of charter.server.extraArgs did not restart the server');
check(JSON.stringify(clients[1]?.serverOptions.args) === '["lsp"]', `after the change the args are ${JSON.stringify(clients[1]?.serverOptions.args)}`);
check(running().length === 1, `${running().length} clients running after a restart, want 1`);

// ---- the command restarts ----
await commands.get('charter.restartServer')?.();
check(clients.length === 3 && running().length === 1 && running()[0] === clients[2], 'charter.restartServer did not replace the client');

// ---- a missing binary: no client, a message naming the setting ----
settings['charter.server.path'] = path.join(dir, 'no-such-charter');
change('charter.server.path');
await settle();
check(running().length === 0, 'a client runs for a missing binary');
check(messages.length === 1 && messages[0].includes('charter.server.path'), `missing binary: messages ${JSON.stringify(messages)}, want one naming charter.server.path`);
settings['charter.server.path'] = 'charter-not-on-the-path-' + process.pid;
change('charter.server.path');
await settle();
check(messages.length === 2 && messages[1].includes('not found on the PATH'), `a name not on the PATH: messages ${JSON.stringify(messages.slice(1))}`);

// ---- a relative path is taken from the first workspace folder ----
vscode.workspace.workspaceFolders = [{ uri: { fsPath: dir } }];
settings['charter.server.path'] = 'bin/../charter';
change('charter.server.path');
await settle();
check(running()[0]?.serverOptions.command === binary, `relative path: command \`${running()[0]?.serverOptions.command}\`, want \`${binary}\``);

// ---- deactivate stops the client ----
settings['charter.server.path'] = binary;
change('charter.server.path');
await settle();
check(running().length === 1, 'the client did not start again with a valid path');
await extension.deactivate();
check(running().length === 0, 'deactivate left a client running');

fs.rmSync(dir, { recursive: true, force: true });
if (failures.length) {
  console.error(failures.map((f) => `FAIL ${f}`).join('\n'));
  console.error(`editor extension: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`editor extension: ${clients.length} client starts checked (command, args, stdio, selector, restarts, missing binary, deactivate)`);
