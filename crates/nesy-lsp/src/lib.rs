//! The nesy language server: `nesy lsp` speaks the Language Server
//! Protocol over standard input and output, for editors.
//!
//! ```
//! use lsp_server::{Connection, Message, Notification, Request, RequestId};
//! use serde_json::json;
//!
//! let (server, editor) = Connection::memory();
//! let thread = std::thread::spawn(move || nesy_lsp::serve(server));
//! editor.sender.send(Message::Request(Request::new(
//!     RequestId::from(1), "initialize".into(), json!({"capabilities": {}}),
//! )))?;
//! let _capabilities = editor.receiver.recv()?;
//! editor.sender.send(Message::Notification(Notification::new("initialized".into(), json!({}))))?;
//! editor.sender.send(Message::Notification(Notification::new(
//!     "textDocument/didOpen".into(),
//!     json!({"textDocument": {"uri": "file:///r.nesy", "languageId": "nesy", "version": 1,
//!            "text": "path(X, Y) :- edge(X, Y)."}}),
//! )))?;
//! let Message::Notification(published) = editor.receiver.recv()? else { panic!() };
//! assert_eq!(published.method, "textDocument/publishDiagnostics");
//! assert_eq!(published.params["diagnostics"][0]["code"], "undefined-relation");
//! editor.sender.send(Message::Request(Request::new(RequestId::from(2), "shutdown".into(), json!(null))))?;
//! editor.receiver.recv()?;
//! editor.sender.send(Message::Notification(Notification::new("exit".into(), json!(null))))?;
//! thread.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! ```
//!
//! What it answers, from the checker and the formatter of `nesy_lang`:
//! diagnostics as a file is opened and edited (full text sync), formatting,
//! hover (a relation's `@decl`, arity and what defines it; a model's
//! `@model` and methods; a prefix's IRI), go to definition (across the open
//! files; an `@import` or `@model` path goes to the file), references,
//! document symbols, completion (directives, relations, models and their
//! methods, prefixes) and quick fixes for the checker's "did you mean".

mod documents;
mod features;
mod text;

pub use documents::Checker;
use documents::{Document, Documents};
use lsp_server::{Connection, ExtractError, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    References, Request as _,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, OneOf, PublishDiagnosticsParams,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};

/// What can stop the server.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Serves an editor over standard input and output until it says `exit`,
/// checking files with `check` (`nesy lsp` passes `nesy::check_text`, which
/// adds the SPARQL and model checks of `nesy check`).
pub fn run_stdio(check: &Checker) -> Result<(), Error> {
    let (connection, io_threads) = Connection::stdio();
    serve_with(connection, check)?;
    io_threads.join()?;
    Ok(())
}

/// The server's capabilities.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["@".into(), ".".into(), ":".into()]),
            ..CompletionOptions::default()
        }),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves one editor on `connection` with the language's own checks: the
/// initialize handshake, then requests and notifications until shutdown
/// and exit.
pub fn serve(connection: Connection) -> Result<(), Error> {
    let check = |path: &std::path::Path, text: &str| {
        nesy_lang::check_with(
            nesy_lang::SourceFile::new(path.display().to_string(), text),
            &nesy_lang::CheckOptions {
                base_dir: path.parent().map(|d| d.to_path_buf()),
            },
        )
    };
    serve_with(connection, &check)
}

/// [`serve`], checking files with `check`.
pub fn serve_with(connection: Connection, check: &Checker) -> Result<(), Error> {
    let initialize = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo { name: "nesy".into(), version: Some(env!("CARGO_PKG_VERSION").into()) },
    });
    let (id, _params) = connection.initialize_start()?;
    connection.initialize_finish(id, initialize)?;
    let mut docs = Documents::default();
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    return Ok(());
                }
                let response = answer(&docs, request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(note) => {
                if let Some(uri) = notice(&mut docs, note, check) {
                    let diagnostics = docs
                        .open
                        .get(&uri)
                        .map(Document::diagnostics)
                        .unwrap_or_default();
                    let params = PublishDiagnosticsParams::new(uri, diagnostics, None);
                    connection
                        .sender
                        .send(Message::Notification(Notification::new(
                            PublishDiagnostics::METHOD.to_string(),
                            params,
                        )))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// Applies a document notification; returns the document whose
/// diagnostics changed.
fn notice(docs: &mut Documents, note: Notification, check: &Checker) -> Option<Uri> {
    match note.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: lsp_types::DidOpenTextDocumentParams =
                serde_json::from_value(note.params).ok()?;
            let uri = params.text_document.uri;
            docs.open.insert(
                uri.clone(),
                Document::new(uri.clone(), params.text_document.text, check),
            );
            Some(uri)
        }
        DidChangeTextDocument::METHOD => {
            let params: lsp_types::DidChangeTextDocumentParams =
                serde_json::from_value(note.params).ok()?;
            // Full sync: the last change is the whole text.
            let text = params.content_changes.into_iter().last()?.text;
            let uri = params.text_document.uri;
            docs.open
                .insert(uri.clone(), Document::new(uri.clone(), text, check));
            Some(uri)
        }
        DidCloseTextDocument::METHOD => {
            let params: lsp_types::DidCloseTextDocumentParams =
                serde_json::from_value(note.params).ok()?;
            docs.open.remove(&params.text_document.uri);
            // Clear what the editor shows for it.
            Some(params.text_document.uri)
        }
        _ => None,
    }
}

/// The answer to a request: a result, `null` for a document that is not
/// open, or an error for a method the server does not have or bad params.
fn answer(docs: &Documents, request: Request) -> Response {
    let id = request.id.clone();
    let result = match request.method.as_str() {
        HoverRequest::METHOD => with::<HoverRequest, _>(request, |p| {
            let at = &p.text_document_position_params;
            docs.open
                .get(&at.text_document.uri)
                .map(|doc| features::hover(docs, doc, at.position))
        }),
        GotoDefinition::METHOD => with::<GotoDefinition, _>(request, |p| {
            let at = &p.text_document_position_params;
            docs.open
                .get(&at.text_document.uri)
                .map(|doc| features::definition(docs, doc, at.position))
        }),
        References::METHOD => with::<References, _>(request, |p| {
            let at = &p.text_document_position;
            docs.open.get(&at.text_document.uri).map(|doc| {
                features::references(docs, doc, at.position, p.context.include_declaration)
            })
        }),
        DocumentSymbolRequest::METHOD => with::<DocumentSymbolRequest, _>(request, |p| {
            docs.open.get(&p.text_document.uri).map(features::symbols)
        }),
        Completion::METHOD => with::<Completion, _>(request, |p| {
            let at = &p.text_document_position;
            docs.open
                .get(&at.text_document.uri)
                .map(|doc| features::completion(docs, doc, at.position))
        }),
        CodeActionRequest::METHOD => with::<CodeActionRequest, _>(request, |p| {
            docs.open
                .get(&p.text_document.uri)
                .map(|doc| features::code_actions(doc, p.range))
        }),
        Formatting::METHOD => with::<Formatting, _>(request, |p| {
            docs.open
                .get(&p.text_document.uri)
                .map(features::formatting)
        }),
        _ => {
            return Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("nesy lsp has no `{}`", request.method),
            );
        }
    };
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err(message) => Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message),
    }
}

/// Decodes a request's params as `R`'s and answers with `f` (`None`, for
/// a document that is not open, is `null`).
fn with<R, T>(
    request: Request,
    f: impl FnOnce(R::Params) -> Option<T>,
) -> Result<serde_json::Value, String>
where
    R: lsp_types::request::Request,
    T: serde::Serialize,
{
    let (_, params): (RequestId, R::Params) = request.extract(R::METHOD).map_err(|e| match e {
        ExtractError::JsonError { error, .. } => format!("bad params: {error}"),
        ExtractError::MethodMismatch(r) => format!("unexpected method `{}`", r.method),
    })?;
    serde_json::to_value(f(params)).map_err(|e| e.to_string())
}
