//! An ephemeral TCP port on 127.0.0.1 for a server to listen on.

use crate::error::{Error, Result};

/// A port the system just handed out on 127.0.0.1; another process may
/// take it before the server binds it (the callers retry).
pub(crate) fn free_tcp_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .map_err(Error::io("binding an ephemeral port on", "127.0.0.1"))?;
    let port = listener
        .local_addr()
        .map_err(Error::io("reading the ephemeral port of", "127.0.0.1"))?
        .port();
    Ok(port)
}
