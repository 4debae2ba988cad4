// Starts `nesy lsp` for .nesy files. The command is `nesy` on the PATH, or
// the `nesy.path` setting.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("nesy").get("path") || "nesy";
  client = new LanguageClient(
    "nesy",
    "nesy",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "nesy" }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
