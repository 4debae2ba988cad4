//! The listener: connections served by hyper with a deadline on request
//! headers (a client that sends them slowly, or never finishes, is cut
//! off), graceful shutdown on Ctrl-C, and reload on SIGHUP.

use crate::{State, router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Says something on standard error; a closed stderr is not an error of
/// the server's (a daemon may have none).
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Serves on `addr` until Ctrl-C; SIGHUP reloads (Unix). Prints the
/// address it listens on (port 0 picks a free one) to standard error.
pub async fn serve(state: Arc<State>, addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    say(&format!(
        "nesy serve: listening on http://{}",
        listener.local_addr()?
    ));
    serve_on(state, listener).await
}

/// [`serve`] on a listener already bound (a test's port 0, a socket
/// handed over by a supervisor).
pub async fn serve_on(state: Arc<State>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    #[cfg(unix)]
    reload_on_hangup(Arc::clone(&state));
    let header_timeout = state.config.header_timeout;
    let app = router(state);
    let graceful = GracefulShutdown::new();
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout);
                let connection = builder.serve_connection(
                    TokioIo::new(stream),
                    TowerToHyperService::new(app.clone()),
                );
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    // Requests in flight finish (up to a limit); new ones are refused.
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
    Ok(())
}

#[cfg(unix)]
fn reload_on_hangup(state: Arc<State>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            // The reload waits for a slot, as requests do.
            let Ok(permit) = Arc::clone(&state.permits).acquire_owned().await else {
                return;
            };
            let worker = Arc::clone(&state);
            let outcome = tokio::task::spawn_blocking(move || {
                let _slot = permit;
                worker.reload()
            })
            .await;
            match outcome {
                Ok(Ok(())) => say("nesy serve: reloaded"),
                Ok(Err(e)) => say(&format!(
                    "nesy serve: reload refused, the old program keeps serving:\n{e}"
                )),
                Err(_) => say("nesy serve: reload failed unexpectedly"),
            }
        }
    });
}
