//! The driver's TLS hooks over rustls: for each host, the SSL request
//! (unless `sslnegotiation=direct`) and the handshake, with the server's
//! certificate kept for SCRAM channel binding.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::Socket;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::failure::{Failure, Why};
use super::Context as Settings;

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Makes the handshake for each host the driver tries.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    pub(crate) config: Arc<ClientConfig>,
    /// Send the SSL request first (the driver is told to negotiate
    /// directly, so a refusal is ours to word).
    pub(crate) request: bool,
    /// When the server refuses TLS: carry on in plain text (`prefer`).
    pub(crate) plain_on_refusal: bool,
    pub(crate) context: Arc<Settings>,
}

impl MakeTlsConnect<Socket> for MakeRustls {
    type Stream = Stream;
    type TlsConnect = RustlsConnect;
    type Error = Failure;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Failure> {
        let name = ServerName::try_from(domain.to_owned()).map_err(|_| Failure {
            host: domain.to_owned(),
            why: Why::BadName,
            context: Arc::clone(&self.context),
        })?;
        Ok(RustlsConnect {
            make: self.clone(),
            host: domain.to_owned(),
            name,
        })
    }
}

/// One host's handshake.
pub(crate) struct RustlsConnect {
    make: MakeRustls,
    host: String,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = Stream;
    type Error = Failure;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, Failure>> + Send>>;

    fn connect(self, mut socket: Socket) -> Self::Future {
        Box::pin(async move {
            let fail = |why| Failure {
                host: self.host.clone(),
                why,
                context: Arc::clone(&self.make.context),
            };
            if self.make.request {
                socket
                    .write_all(&SSL_REQUEST)
                    .await
                    .map_err(|e| fail(Why::Io(e.to_string())))?;
                let mut answer = [0u8; 1];
                socket
                    .read_exact(&mut answer)
                    .await
                    .map_err(|e| fail(Why::Io(e.to_string())))?;
                match answer[0] {
                    b'S' => {}
                    b'N' if self.make.plain_on_refusal => return Ok(Stream::Plain(socket)),
                    b'N' => return Err(fail(Why::Refused)),
                    other => return Err(fail(Why::Unexpected(other))),
                }
            }
            let connector = tokio_rustls::TlsConnector::from(Arc::clone(&self.make.config));
            match connector.connect(self.name.clone(), socket).await {
                Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
                Err(e) => Err(fail(Why::from_io(e))),
            }
        })
    }
}

/// The connection: TLS, or plain text where the mode let a server that
/// refused TLS be reached without it.
pub(crate) enum Stream {
    Tls(Box<tokio_rustls::client::TlsStream<Socket>>),
    Plain(Socket),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

impl TlsStream for Stream {
    fn channel_binding(&self) -> ChannelBinding {
        let Stream::Tls(tls) = self else {
            return ChannelBinding::none();
        };
        let (_, connection) = tls.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| super::binding::end_point(cert))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}
