//! The server side of the management socket: owner-only, local, one JSON line per request.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

use crate::protocol::{Request, Response};
use crate::{Error, Result};

/// What the running server does for each request.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, req: Request) -> Response;
}

/// Largest request line accepted (requests are small; this bounds a misbehaving client).
const MAX_LINE: usize = 64 * 1024;

/// Binds the socket at `path` (replacing a stale one), mode 0600.
pub fn bind(path: &Path) -> Result<UnixListener> {
    let err = |cause: String| Error::Socket {
        path: path.display().to_string(),
        cause,
    };
    if path.exists() {
        // A socket nobody answers on is left over from a killed server.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(err(
                "another reportd is already serving this data dir".into()
            ));
        }
        std::fs::remove_file(path).map_err(|e| err(e.to_string()))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| err(e.to_string()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| err(e.to_string()))?;
    Ok(listener)
}

/// Serves requests until the task is dropped. Only processes of the same user are served
/// (checked with SO_PEERCRED on top of the 0600 socket mode).
pub async fn serve(listener: UnixListener, path: PathBuf, handler: Arc<dyn Handler>) {
    let me = nix::unistd::getuid().as_raw();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(socket = %path.display(), error = %e, "management accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        match stream.peer_cred() {
            Ok(c) if c.uid() == me || c.uid() == 0 => {}
            _ => {
                tracing::warn!("management connection from another user refused");
                continue;
            }
        }
        let handler = handler.clone();
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut lines = BufReader::new(r.take(MAX_LINE as u64 * 16)).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let resp = if line.len() > MAX_LINE {
                    Response::failed("request too large")
                } else {
                    match serde_json::from_str::<Request>(&line) {
                        Ok(req) => handler.handle(req).await,
                        Err(e) => Response::failed(format!("bad request: {e}")),
                    }
                };
                let mut out = serde_json::to_vec(&resp).expect("responses serialize");
                out.push(b'\n');
                if w.write_all(&out).await.is_err() {
                    break;
                }
            }
        });
    }
}
