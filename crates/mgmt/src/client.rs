//! The client side of the management socket, for `reportctl` (blocking).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use datadir::DataDir;

use crate::protocol::{Request, Response};
use crate::{Error, Result};

/// How long a request may take on the server (applying a change binds ports, loads keys).
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection to a running server.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    path: String,
}

impl Client {
    /// Connects to the server of `dd`; `Ok(None)` when no server listens (stopped).
    pub fn connect(dd: &DataDir) -> Result<Option<Client>> {
        let path = dd.socket_path()?;
        Self::connect_path(&path)
    }

    pub fn connect_path(path: &Path) -> Result<Option<Client>> {
        match UnixStream::connect(path) {
            Ok(stream) => {
                let _ = stream.set_read_timeout(Some(TIMEOUT));
                let _ = stream.set_write_timeout(Some(TIMEOUT));
                Ok(Some(Client {
                    stream,
                    path: path.display().to_string(),
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::Socket {
                path: path.display().to_string(),
                cause: e.to_string(),
            }),
        }
    }

    /// Sends one request and waits for its answer. A failed operation (`HRESULT` != 0)
    /// is returned as a `Response`, not an error; [`Client::call_ok`] turns it into one.
    pub fn call(&mut self, req: &Request) -> Result<Response> {
        let sock_err = |cause: String| Error::Socket {
            path: self.path.clone(),
            cause,
        };
        let mut line = serde_json::to_vec(req).expect("requests serialize");
        line.push(b'\n');
        self.stream
            .write_all(&line)
            .map_err(|e| sock_err(e.to_string()))?;
        let mut reader = BufReader::new(&self.stream);
        let mut answer = String::new();
        reader
            .read_line(&mut answer)
            .map_err(|e| sock_err(e.to_string()))?;
        if answer.is_empty() {
            return Err(sock_err("the server closed the connection".into()));
        }
        serde_json::from_str(&answer).map_err(|e| sock_err(format!("bad answer: {e}")))
    }

    /// Like [`Client::call`], failing with the server's error text when `HRESULT` != 0.
    pub fn call_ok(&mut self, req: &Request) -> Result<Response> {
        let r = self.call(req)?;
        if r.hresult != 0 {
            return Err(Error::Server(r.error.unwrap_or_else(|| {
                format!("failed with HRESULT {:#x}", r.hresult)
            })));
        }
        Ok(r)
    }
}
