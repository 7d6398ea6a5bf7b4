// The charter extension: starts the charter language server (`charter lsp`, LSP over stdio)
// for `.charter` files, and folds by brackets (src/folding.js). Syntax highlighting needs no
// code: it is the TextMate grammar that package.json contributes
// (syntaxes/charter.tmLanguage.json).
//
// Plain CommonJS with no build step: `vscode` is provided by the editor, and
// `vscode-languageclient` is the one runtime dependency.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { foldingRanges } = require('./folding');

const CLIENT_ID = 'charter'; // also the prefix of `charter.trace.server`, read by the client
const CLIENT_NAME = 'Charter Language Server';

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let output;
// Starts and stops run one at a time, in order: a settings change during a start waits for it.
let queue = Promise.resolve();

function serialize(task) {
  queue = queue.then(task, task);
  return queue;
}

/** The server command from the settings: `<charter.server.path> ...extraArgs lsp`. */
function serverCommand() {
  const config = vscode.workspace.getConfiguration('charter.server');
  let command = String(config.get('path') || 'charter').trim() || 'charter';
  if (command === '~' || command.startsWith('~/')) {
    command = path.join(os.homedir(), command.slice(1));
  } else if (!path.isAbsolute(command) && /[\\/]/.test(command)) {
    // `target/release/charter`: relative to the first workspace folder, not to VS Code's cwd.
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (folder) command = path.resolve(folder, command);
  }
  const extra = config.get('extraArgs');
  const args = Array.isArray(extra) ? extra.map(String) : [];
  return { command, args: [...args, 'lsp'] };
}

/**
 * Whether `command` names an executable: a path that exists, or a bare name found on the PATH.
 * A check before spawning gives a message that says which setting to change instead of the
 * client's generic "couldn't create connection to server".
 */
function findExecutable(command) {
  const isFile = (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/') || command.includes('\\')) {
    return isFile(command) ? command : undefined;
  }
  const exts = process.platform === 'win32'
    ? ['', ...(process.env.PATHEXT || '.EXE;.CMD;.BAT;.COM').split(';')]
    : [''];
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, command + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

async function showStartError(command, args, reason) {
  const line = [command, ...args].join(' ');
  const message =
    `Charter: could not start the language server \`${line}\` (${reason}). ` +
    'Install charter (`cargo install --path .` in the charter repository puts it on the PATH) ' +
    'or set `charter.server.path` to the charter binary.';
  output?.appendLine(message);
  const choice = await vscode.window.showErrorMessage(message, 'Open Settings');
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'charter.server.path');
  }
}

async function startClient() {
  const { command, args } = serverCommand();
  if (!findExecutable(command)) {
    const reason = command.includes('/') || command.includes('\\')
      ? 'no such file'
      : 'not found on the PATH';
    void showStartError(command, args, reason);
    return;
  }

  /** @type {import('vscode-languageclient/node').ServerOptions} */
  const serverOptions = { command, args, transport: TransportKind.stdio };
  /** @type {import('vscode-languageclient/node').LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'charter' }],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.charter'),
    },
    outputChannel: output,
  };

  const next = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  try {
    await next.start();
    client = next;
  } catch (err) {
    // The binary exists but did not start or did not answer `initialize` (an old charter
    // without `lsp`, a wrong extraArgs, no permission to execute).
    client = undefined;
    try {
      await next.dispose();
    } catch {
      // Already stopped: nothing to release.
    }
    void showStartError(command, args, err instanceof Error ? err.message : String(err));
  }
}

async function stopClient() {
  const current = client;
  client = undefined;
  if (!current) return;
  try {
    await current.stop();
  } catch (err) {
    output?.appendLine(`Charter: stopping the language server failed: ${err}`);
  }
}

function restart() {
  return serialize(async () => {
    await stopClient();
    await startClient();
  });
}

/** @param {vscode.ExtensionContext} context */
function activate(context) {
  output = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand('charter.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('charter.server')) void restart();
    }),
    vscode.languages.registerFoldingRangeProvider({ language: 'charter' }, {
      provideFoldingRanges(document) {
        return foldingRanges(document.getText()).map(
          (r) => new vscode.FoldingRange(
            r.start,
            r.end,
            r.kind === 'comment' ? vscode.FoldingRangeKind.Comment : undefined,
          ),
        );
      },
    }),
  );
  return serialize(startClient);
}

function deactivate() {
  return serialize(stopClient);
}

module.exports = { activate, deactivate };
