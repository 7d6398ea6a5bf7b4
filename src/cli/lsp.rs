//! `charter lsp`: the language server, over standard input and output (docs/editor.md).
//!
//! The protocol lives here (`lsp-types`, `lsp-server`'s messages); what the answers say is the
//! library's `ide` module. Messages are handled one at a time on this thread; a burst of edits
//! is applied before the policy is compiled again, and diagnostics are published when no
//! message is waiting. A panic while handling a message is caught: the request gets an error,
//! the analyses are dropped (built again on next use) and the server keeps serving.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use charter::diagnostic::{Diagnostic, Severity};
use charter::ide::symbols::Target;
use charter::ide::{self, Analysis, Workspace};
use charter::source::{LineIndex, SourceId, Span};
use crossbeam_channel::{Receiver, Sender};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use lsp_types::{Position, PositionEncodingKind, Range, Uri};

use super::output::errln;

/// Largest message accepted from the client: a file at the loader's size limit, escaped.
const MAX_MESSAGE_BYTES: usize = 4 * charter::source::MAX_FILE_BYTES;
/// Diagnostics published per file: a file with more shows the first ones (by position).
const MAX_PER_FILE: usize = 1000;

/// Runs the server until the client says `exit` or closes the connection: 0 after a
/// `shutdown`, 1 otherwise (as the protocol asks).
pub(crate) fn run() -> u8 {
    let (connection, reader) = stdio();
    let code = match serve(&connection) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            errln!("charter lsp: {e}");
            1
        }
    };
    drop(connection);
    // The reader may be blocked on standard input: it ends with the process.
    drop(reader);
    code
}

struct Connection {
    sender: Sender<Message>,
    receiver: Receiver<Message>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Closing the channel ends the writer once it has written what was sent.
        let (dead, _) = crossbeam_channel::bounded(0);
        self.sender = dead;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The transport: a reader thread that refuses oversized or malformed headers (lsp-server's
/// reader would allocate whatever `Content-Length` says), a writer thread.
fn stdio() -> (Connection, std::thread::JoinHandle<()>) {
    let (to_main, receiver) = crossbeam_channel::bounded::<Message>(64);
    let reader = std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        loop {
            match read_message(&mut input) {
                Ok(Some(msg)) => {
                    let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                    if to_main.send(msg).is_err() || exit {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    errln!("charter lsp: {e}");
                    if e.kind() != std::io::ErrorKind::InvalidData {
                        return;
                    }
                }
            }
        }
    });
    let (sender, from_main) = crossbeam_channel::unbounded::<Message>();
    let writer = std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for msg in from_main {
            if msg.write(&mut out).is_err() || out.flush().is_err() {
                return;
            }
        }
    });
    (
        Connection {
            sender,
            receiver,
            writer: Some(writer),
        },
        reader,
    )
}

/// One message: headers (`Content-Length` required, each line at most 1 KiB), then the body.
/// `Ok(None)` at the end of the input; `InvalidData` for a message that is skipped.
fn read_message(input: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
    let mut length = None;
    let mut lines = 0;
    loop {
        let mut line = Vec::new();
        let n = input.by_ref().take(1024).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            return Err(std::io::Error::other("a header line longer than 1 KiB"));
        }
        lines += 1;
        if lines > 32 {
            return Err(std::io::Error::other("more than 32 header lines"));
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let Some(length) = length else {
        return Err(std::io::Error::other(
            "a message without a valid Content-Length",
        ));
    };
    if length > MAX_MESSAGE_BYTES {
        return Err(std::io::Error::other(format!(
            "a message of {length} bytes (the limit is {MAX_MESSAGE_BYTES})"
        )));
    }
    let mut body = Vec::new();
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| bad(format!("a message that is not JSON-RPC: {e}")))
}

fn capabilities(utf8: bool) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(if utf8 {
            PositionEncodingKind::UTF8
        } else {
            PositionEncodingKind::UTF16
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![" ".into(), "[".into(), "=".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Initialise, then serve. `Ok(true)`: ended by `shutdown` and `exit`.
fn serve(conn: &Connection) -> Result<bool, String> {
    let (id, params) = loop {
        match conn.receiver.recv() {
            Ok(Message::Request(r)) if r.method == "initialize" => break (r.id, r.params),
            Ok(Message::Request(r)) => {
                let _ = conn.sender.send(
                    Response::new_err(
                        r.id,
                        ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialised yet".to_owned(),
                    )
                    .into(),
                );
            }
            Ok(Message::Notification(n)) if n.method == "exit" => return Ok(false),
            Ok(_) => {}
            Err(_) => return Ok(false),
        }
    };
    let params: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let utf8 = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let result = lsp::InitializeResult {
        capabilities: capabilities(utf8),
        server_info: Some(lsp::ServerInfo {
            name: "charter".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    };
    let _ = conn.sender.send(Response::new_ok(id, result).into());
    let mut boundaries: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| path_of(&f.uri))
        .collect();
    #[allow(deprecated)]
    if let Some(root) = params.root_uri.as_ref().and_then(path_of) {
        boundaries.push(root);
    }
    let mut server = Server {
        sender: conn.sender.clone(),
        utf8,
        boundaries,
        workspaces: Vec::new(),
        published: HashMap::new(),
        assertions: HashMap::new(),
        dirty: BTreeSet::new(),
        shutdown: false,
    };
    loop {
        let msg = match conn.receiver.recv() {
            Ok(msg) => msg,
            Err(_) => return Ok(server.shutdown),
        };
        match msg {
            Message::Request(req) => {
                if server.shutdown {
                    server.reply_err(
                        req.id,
                        ErrorCode::InvalidRequest,
                        "the server is shutting down",
                    );
                    continue;
                }
                if req.method == "shutdown" {
                    server.shutdown = true;
                    server.send(Response::new_ok(req.id, ()).into());
                    continue;
                }
                let id = req.id.clone();
                match catch_unwind(AssertUnwindSafe(|| server.request(req))) {
                    Ok(response) => server.send(response.into()),
                    Err(panic) => {
                        server.recover();
                        server.reply_err(
                            id,
                            ErrorCode::InternalError,
                            &format!("charter lsp failed on this request: {}", panic_text(&panic)),
                        );
                    }
                }
            }
            Message::Notification(n) if n.method == "exit" => return Ok(server.shutdown),
            Message::Notification(n) => {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| server.notification(n))) {
                    server.recover();
                    server.log(&format!(
                        "charter lsp failed on a notification: {}",
                        panic_text(&panic)
                    ));
                }
            }
            Message::Response(_) => {}
        }
        // Diagnostics once the burst of messages is handled: edits typed quickly are
        // compiled once.
        if conn.receiver.is_empty() && !server.dirty.is_empty() {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| server.publish())) {
                server.recover();
                server.log(&format!(
                    "charter lsp failed to compile: {}",
                    panic_text(&panic)
                ));
            }
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

struct Server {
    sender: Sender<Message>,
    /// Positions count bytes (UTF-8) rather than UTF-16 code units, if the client offered it.
    utf8: bool,
    /// The workspace folders: a policy root is never looked for above them.
    boundaries: Vec<PathBuf>,
    workspaces: Vec<Workspace>,
    /// The files each workspace last published diagnostics for (so that they can be cleared).
    published: HashMap<usize, BTreeSet<PathBuf>>,
    /// After a save: each assertion's outcome, shown until the next edit.
    assertions: HashMap<usize, Vec<(PathBuf, lsp::Diagnostic)>>,
    dirty: BTreeSet<usize>,
    shutdown: bool,
}

/// What an edit or a request is about: a file of one workspace.
struct At {
    ws: usize,
    path: PathBuf,
}

impl Server {
    fn send(&self, msg: Message) {
        let _ = self.sender.send(msg);
    }

    fn reply_err(&self, id: RequestId, code: ErrorCode, message: &str) {
        self.send(Response::new_err(id, code as i32, message.to_owned()).into());
    }

    fn log(&self, message: &str) {
        self.send(
            Notification::new(
                "window/logMessage".to_owned(),
                lsp::LogMessageParams {
                    typ: lsp::MessageType::ERROR,
                    message: message.to_owned(),
                },
            )
            .into(),
        );
    }

    /// After a panic: every workspace is read again from disk and the open files' texts,
    /// and compiled afresh.
    fn recover(&mut self) {
        for (i, ws) in self.workspaces.iter_mut().enumerate() {
            let _ = ws.reload();
            self.dirty.insert(i);
        }
    }

    /// The workspace of `path`: the one that holds it, or the policy directory it is in
    /// (loaded on first use).
    fn workspace_of(&mut self, path: &Path) -> Option<usize> {
        if !charter::source::is_charter_name(path) {
            return None;
        }
        if let Some(i) = self.workspaces.iter().position(|w| w.holds(path)) {
            return Some(i);
        }
        let boundary = self
            .boundaries
            .iter()
            .filter(|b| path.starts_with(b))
            .max_by_key(|b| b.as_os_str().len())
            .cloned();
        let root = ide::policy_root(path, boundary.as_deref());
        if let Some(i) = self.workspaces.iter().position(|w| w.root() == root) {
            return Some(i);
        }
        let ws = match Workspace::load(&root) {
            Ok(ws) => ws,
            Err(e) => {
                self.log(&format!(
                    "charter lsp: {e}; only the open files are checked"
                ));
                Workspace::empty(&root)
            }
        };
        self.workspaces.push(ws);
        Some(self.workspaces.len() - 1)
    }

    fn at(&mut self, uri: &Uri) -> Option<At> {
        let path = path_of(uri)?;
        let ws = self.workspace_of(&path)?;
        Some(At { ws, path })
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let Some(at) = self.at(&p.text_document.uri) {
                    self.workspaces[at.ws].set_text(&at.path, &p.text_document.text);
                    self.dirty.insert(at.ws);
                }
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let Some(at) = self.at(&p.text_document.uri) else {
                    return;
                };
                let ws = &mut self.workspaces[at.ws];
                let mut text: String = ws.text(&at.path).map(|t| t.to_string()).unwrap_or_default();
                for change in p.content_changes {
                    match change.range {
                        None => text = change.text,
                        Some(range) => {
                            let lines = LineIndex::new(&text);
                            let start = offset_of(&text, &lines, range.start, self.utf8);
                            let end = offset_of(&text, &lines, range.end, self.utf8).max(start);
                            text.replace_range(start..end, &change.text);
                        }
                    }
                }
                ws.set_text(&at.path, &text);
                self.assertions.remove(&at.ws);
                self.dirty.insert(at.ws);
            }
            "textDocument/didSave" => {
                let Ok(p) = serde_json::from_value::<lsp::DidSaveTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let Some(at) = self.at(&p.text_document.uri) {
                    let results = self.assertion_diagnostics(at.ws);
                    self.assertions.insert(at.ws, results);
                    self.dirty.insert(at.ws);
                }
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                if let Some(at) = self.at(&p.text_document.uri) {
                    if let Err(e) = self.workspaces[at.ws].close(&at.path) {
                        self.log(&format!("charter lsp: {e}"));
                    }
                    self.dirty.insert(at.ws);
                }
            }
            "workspace/didChangeWatchedFiles" => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeWatchedFilesParams>(n.params)
                else {
                    return;
                };
                let mut touched = BTreeSet::new();
                for change in p.changes {
                    let Some(path) = path_of(&change.uri) else {
                        continue;
                    };
                    for (i, ws) in self.workspaces.iter().enumerate() {
                        if path.starts_with(ws.root()) {
                            touched.insert(i);
                        }
                    }
                }
                for i in touched {
                    if let Err(e) = self.workspaces[i].reload() {
                        self.log(&format!("charter lsp: {e}"));
                    }
                    self.dirty.insert(i);
                }
            }
            "workspace/didChangeWorkspaceFolders" => {
                if let Ok(p) =
                    serde_json::from_value::<lsp::DidChangeWorkspaceFoldersParams>(n.params)
                {
                    let removed: Vec<PathBuf> = p
                        .event
                        .removed
                        .iter()
                        .filter_map(|f| path_of(&f.uri))
                        .collect();
                    self.boundaries.retain(|b| !removed.contains(b));
                    self.boundaries
                        .extend(p.event.added.iter().filter_map(|f| path_of(&f.uri)));
                }
            }
            _ => {}
        }
    }

    /// Each assertion's outcome as an information diagnostic on its line.
    fn assertion_diagnostics(&mut self, ws: usize) -> Vec<(PathBuf, lsp::Diagnostic)> {
        let analysis = self.workspaces[ws].analysis();
        let mut out = Vec::new();
        for r in analysis.assertions() {
            let file = analysis.sources.get(r.span.source);
            let message = if r.passed {
                format!("assertion passes: {}", r.text)
            } else {
                let mut m = format!("assertion fails: {}", r.message);
                for note in &r.notes {
                    m.push_str("\nnote: ");
                    m.push_str(note);
                }
                m
            };
            out.push((
                file.path.clone(),
                lsp::Diagnostic {
                    range: range_of(&analysis, r.span, self.utf8),
                    severity: Some(lsp::DiagnosticSeverity::INFORMATION),
                    code: Some(lsp::NumberOrString::String(
                        if r.passed { "pass" } else { "fail" }.to_owned(),
                    )),
                    source: Some("charter test".to_owned()),
                    message,
                    ..Default::default()
                },
            ));
        }
        out
    }

    /// Publishes the diagnostics of every file of the changed workspaces (an empty list
    /// clears a file's).
    fn publish(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        for ws in dirty {
            let analysis = self.workspaces[ws].analysis();
            let mut by_file: HashMap<PathBuf, Vec<lsp::Diagnostic>> = self.workspaces[ws]
                .paths()
                .map(|p| (p.to_path_buf(), Vec::new()))
                .collect();
            let mut counts: HashMap<SourceId, usize> = HashMap::new();
            for d in &analysis.compiled.diagnostics {
                let Some(span) = d.primary_span() else {
                    continue;
                };
                let n = counts.entry(span.source).or_default();
                *n += 1;
                if *n > MAX_PER_FILE {
                    continue;
                }
                let path = analysis.sources.get(span.source).path.clone();
                let diagnostic = self.diagnostic(&analysis, d);
                by_file.entry(path).or_default().push(diagnostic);
            }
            for (path, d) in self.assertions.get(&ws).into_iter().flatten() {
                by_file.entry(path.clone()).or_default().push(d.clone());
            }
            let before = self.published.remove(&ws).unwrap_or_default();
            for path in before {
                by_file.entry(path).or_default();
            }
            let mut now = BTreeSet::new();
            for (path, diagnostics) in by_file {
                let Some(uri) = uri_of(&path) else {
                    continue;
                };
                if !diagnostics.is_empty() {
                    now.insert(path);
                }
                self.send(
                    Notification::new(
                        "textDocument/publishDiagnostics".to_owned(),
                        lsp::PublishDiagnosticsParams {
                            uri,
                            diagnostics,
                            version: None,
                        },
                    )
                    .into(),
                );
            }
            self.published.insert(ws, now);
        }
    }

    /// A compiler diagnostic in the protocol's terms: the code, the message with the help
    /// line, and every label as related information.
    fn diagnostic(&self, analysis: &Analysis, d: &Diagnostic) -> lsp::Diagnostic {
        let span = d.primary_span().unwrap_or(Span::new(SourceId(0), 0, 0));
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let related: Vec<lsp::DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter_map(|l| {
                Some(lsp::DiagnosticRelatedInformation {
                    location: lsp::Location {
                        uri: uri_of(&analysis.sources.get(l.span.source).path)?,
                        range: range_of(analysis, l.span, self.utf8),
                    },
                    message: l.message.clone(),
                })
            })
            .collect();
        lsp::Diagnostic {
            range: range_of(analysis, span, self.utf8),
            severity: Some(match d.severity {
                Severity::Error => lsp::DiagnosticSeverity::ERROR,
                Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(d.code.as_str().to_owned())),
            source: Some("charter".to_owned()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Default::default()
        }
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            "textDocument/hover" => self.hover(req.params),
            "textDocument/definition" => self.definition(req.params),
            "textDocument/references" => self.references(req.params),
            "textDocument/completion" => self.completion(req.params),
            "textDocument/codeAction" => self.code_action(req.params),
            "textDocument/formatting" => self.formatting(req.params),
            "textDocument/documentSymbol" => self.document_symbol(req.params),
            // For the tests of panic recovery only: honoured when the variable is set.
            "charter/panic" if std::env::var_os("CHARTER_LSP_TEST_PANIC").is_some() => {
                panic!("the test asked for a panic")
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("`{}` is not supported", req.method),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    /// The analysis, file and byte offset a position names.
    fn locate(
        &mut self,
        doc: &lsp::TextDocumentPositionParams,
    ) -> Option<(Rc<Analysis>, SourceId, u32)> {
        let at = self.at(&doc.text_document.uri)?;
        let analysis = self.workspaces[at.ws].analysis();
        let file = analysis.file(&at.path)?;
        let f = analysis.sources.get(file);
        let offset = offset_of(&f.text, &f.lines, doc.position, self.utf8);
        Some((analysis, file, offset as u32))
    }

    fn hover(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::HoverParams = parse(params)?;
        let Some((analysis, file, offset)) = self.locate(&p.text_document_position_params) else {
            return Ok(serde_json::Value::Null);
        };
        let Some((span, text)) = ide::hover::hover(&analysis, file, offset) else {
            return Ok(serde_json::Value::Null);
        };
        to_json(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: text,
            }),
            range: Some(range_of(&analysis, span, self.utf8)),
        })
    }

    fn target_at(
        &mut self,
        doc: &lsp::TextDocumentPositionParams,
    ) -> Option<(Rc<Analysis>, Target)> {
        let (analysis, file, offset) = self.locate(doc)?;
        let target = analysis.symbols().at(file, offset)?.target;
        Some((analysis, target))
    }

    fn locations<'a>(
        &self,
        analysis: &Analysis,
        spans: impl Iterator<Item = &'a charter::ide::symbols::Occurrence>,
    ) -> Vec<lsp::Location> {
        spans
            .filter_map(|o| {
                Some(lsp::Location {
                    uri: uri_of(&analysis.sources.get(o.span.source).path)?,
                    range: range_of(analysis, o.span, self.utf8),
                })
            })
            .collect()
    }

    fn definition(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::GotoDefinitionParams = parse(params)?;
        let Some((analysis, target)) = self.target_at(&p.text_document_position_params) else {
            return Ok(serde_json::Value::Null);
        };
        let found = self.locations(&analysis, analysis.symbols().declarations(target));
        if found.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        to_json(lsp::GotoDefinitionResponse::Array(found))
    }

    fn references(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::ReferenceParams = parse(params)?;
        let Some((analysis, target)) = self.target_at(&p.text_document_position) else {
            return Ok(serde_json::Value::Null);
        };
        let with_declaration = p.context.include_declaration;
        to_json(
            self.locations(
                &analysis,
                analysis
                    .symbols()
                    .of(target)
                    .filter(|o| with_declaration || !o.declaration),
            ),
        )
    }

    fn completion(&mut self, params: serde_json::Value) -> Answer {
        use charter::ide::complete::CompletionKind as K;
        let p: lsp::CompletionParams = parse(params)?;
        let doc = &p.text_document_position;
        let Some(at) = self.at(&doc.text_document.uri) else {
            return Ok(serde_json::Value::Null);
        };
        let analysis = self.workspaces[at.ws].analysis();
        let Some(text) = self.workspaces[at.ws].text(&at.path).cloned() else {
            return Ok(serde_json::Value::Null);
        };
        let lines = LineIndex::new(&text);
        let offset = offset_of(&text, &lines, doc.position, self.utf8);
        let items: Vec<lsp::CompletionItem> = ide::complete::complete(&analysis, &text, offset)
            .into_iter()
            .map(|c| lsp::CompletionItem {
                kind: Some(match c.kind {
                    K::Keyword => lsp::CompletionItemKind::KEYWORD,
                    K::Permission => lsp::CompletionItemKind::PROPERTY,
                    K::Value => lsp::CompletionItemKind::VALUE,
                    K::Space => lsp::CompletionItemKind::MODULE,
                    K::Enterprise => lsp::CompletionItemKind::FOLDER,
                    K::Role => lsp::CompletionItemKind::CLASS,
                    K::Location | K::LocationType => lsp::CompletionItemKind::ENUM_MEMBER,
                    K::Group | K::Item => lsp::CompletionItemKind::REFERENCE,
                    K::Member => lsp::CompletionItemKind::VARIABLE,
                }),
                detail: c.detail,
                label: c.label,
                ..Default::default()
            })
            .collect();
        to_json(lsp::CompletionResponse::Array(items))
    }

    fn code_action(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::CodeActionParams = parse(params)?;
        let Some(at) = self.at(&p.text_document.uri) else {
            return Ok(serde_json::Value::Null);
        };
        let analysis = self.workspaces[at.ws].analysis();
        let Some(file) = analysis.file(&at.path) else {
            return Ok(serde_json::Value::Null);
        };
        let f = analysis.sources.get(file);
        let start = offset_of(&f.text, &f.lines, p.range.start, self.utf8) as u32;
        let end = offset_of(&f.text, &f.lines, p.range.end, self.utf8) as u32;
        let mut actions = Vec::new();
        for d in &analysis.compiled.diagnostics {
            let Some(span) = d.primary_span().filter(|s| s.source == file) else {
                continue;
            };
            if span.end < start || span.start > end {
                continue;
            }
            let fixes = ide::fixes::fixes(d, analysis.slice(span));
            let preferred = fixes.len() == 1;
            for fix in fixes {
                let edit = lsp::TextEdit {
                    range: range_of(&analysis, fix.span, self.utf8),
                    new_text: fix.replacement,
                };
                actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                    title: fix.title,
                    kind: Some(lsp::CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![self.diagnostic(&analysis, d)]),
                    edit: Some(lsp::WorkspaceEdit {
                        changes: Some(HashMap::from([(p.text_document.uri.clone(), vec![edit])])),
                        ..Default::default()
                    }),
                    is_preferred: Some(preferred),
                    ..Default::default()
                }));
            }
        }
        to_json(actions)
    }

    fn formatting(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::DocumentFormattingParams = parse(params)?;
        let Some(at) = self.at(&p.text_document.uri) else {
            return Ok(serde_json::Value::Null);
        };
        let Some(text) = self.workspaces[at.ws].text(&at.path).cloned() else {
            return Ok(serde_json::Value::Null);
        };
        match charter::syntax::format(SourceId(0), &text) {
            Ok(formatted) if formatted == *text => to_json(Vec::<lsp::TextEdit>::new()),
            Ok(formatted) => {
                let lines = LineIndex::new(&text);
                let end = position_of(&text, &lines, text.len(), self.utf8);
                to_json(vec![lsp::TextEdit {
                    range: Range::new(Position::new(0, 0), end),
                    new_text: formatted,
                }])
            }
            Err(_) => Err((
                ErrorCode::RequestFailed,
                "the file has syntax errors: fix them to format it".to_owned(),
            )),
        }
    }

    fn document_symbol(&mut self, params: serde_json::Value) -> Answer {
        let p: lsp::DocumentSymbolParams = parse(params)?;
        let Some(at) = self.at(&p.text_document.uri) else {
            return Ok(serde_json::Value::Null);
        };
        let analysis = self.workspaces[at.ws].analysis();
        let Some(parsed) = analysis
            .file(&at.path)
            .and_then(|f| analysis.parsed[f.0 as usize].clone())
        else {
            return Ok(serde_json::Value::Null);
        };
        let entries = ide::outline::outline(&parsed.ast);
        let symbols: Vec<lsp::DocumentSymbol> =
            entries.iter().map(|e| self.symbol(&analysis, e)).collect();
        to_json(lsp::DocumentSymbolResponse::Nested(symbols))
    }

    fn symbol(&self, analysis: &Analysis, e: &ide::outline::OutlineEntry) -> lsp::DocumentSymbol {
        use ide::outline::OutlineKind as O;
        let kind = match e.kind {
            O::Enterprise => lsp::SymbolKind::MODULE,
            O::Space => lsp::SymbolKind::NAMESPACE,
            O::Role => lsp::SymbolKind::CLASS,
            O::LocationTypes | O::Locations => lsp::SymbolKind::PACKAGE,
            O::LocationType => lsp::SymbolKind::ENUM_MEMBER,
            O::Location => lsp::SymbolKind::OBJECT,
            O::Member => lsp::SymbolKind::VARIABLE,
            O::Group => lsp::SymbolKind::STRUCT,
            O::Report => lsp::SymbolKind::EVENT,
            O::Application => lsp::SymbolKind::INTERFACE,
            O::Registry => lsp::SymbolKind::ARRAY,
            O::Profile => lsp::SymbolKind::PROPERTY,
            O::Test => lsp::SymbolKind::FUNCTION,
        };
        #[allow(deprecated)]
        lsp::DocumentSymbol {
            name: if e.name.is_empty() {
                "?".to_owned()
            } else {
                e.name.clone()
            },
            detail: e.detail.clone(),
            kind,
            tags: None,
            deprecated: None,
            range: range_of(analysis, e.span.to(e.selection), self.utf8),
            selection_range: range_of(analysis, e.selection, self.utf8),
            children: (!e.children.is_empty()).then(|| {
                e.children
                    .iter()
                    .map(|c| self.symbol(analysis, c))
                    .collect()
            }),
        }
    }
}

type Answer = Result<serde_json::Value, (ErrorCode, String)>;

fn parse<T: serde::de::DeserializeOwned>(
    params: serde_json::Value,
) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(params).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

fn to_json(value: impl serde::Serialize) -> Answer {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

/// The byte offset of a protocol position in `text` (clamped to its line and to the text).
fn offset_of(text: &str, lines: &LineIndex, p: Position, utf8: bool) -> usize {
    let start = lines.line_start(p.line as usize, text.len());
    if start >= text.len() {
        return text.len();
    }
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..line_end];
    let want = p.character as usize;
    if utf8 {
        let mut o = want.min(line.len());
        while !line.is_char_boundary(o) {
            o -= 1;
        }
        return start + o;
    }
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= want {
            return start + i;
        }
        units += c.len_utf16();
    }
    line_end
}

/// The protocol position of a byte offset.
fn position_of(text: &str, lines: &LineIndex, offset: usize, utf8: bool) -> Position {
    let offset = offset.min(text.len());
    let line = lines.line_of(offset as u32);
    let start = lines.line_start(line, text.len()).min(offset);
    let before = text.get(start..offset).unwrap_or("");
    let character = if utf8 {
        before.len()
    } else {
        lines.utf16_column(text, offset as u32)
    };
    Position::new(line as u32, character as u32)
}

fn range_of(analysis: &Analysis, span: Span, utf8: bool) -> Range {
    let f = analysis.sources.get(span.source);
    Range::new(
        position_of(&f.text, &f.lines, span.start as usize, utf8),
        position_of(&f.text, &f.lines, span.end as usize, utf8),
    )
}

/// The file a `file:` URI names.
fn path_of(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file:///p` (empty authority) or `file://localhost/p`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        Some(PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()))
    }
}

/// Everything but unreserved characters and `/` is escaped in a file URI's path.
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn uri_of(path: &Path) -> Option<Uri> {
    let bytes = path.as_os_str().as_encoded_bytes();
    let encoded = percent_encoding::percent_encode(bytes, PATH).to_string();
    format!("file://{encoded}").parse().ok()
}
