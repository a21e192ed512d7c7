//! Real TLS handshakes with certificates from the store: a tokio-rustls server presenting
//! `CertStore::certified_key`, a rustls client trusting the certificate (or its CA), both on
//! the aws-lc-rs provider, over a loopback TCP connection on port 0.

use std::process::Command;
use std::sync::Arc;

use certstore::{CertStore, KeyType, SelfSignedOptions, StoreName, Thumbprint};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Serves one connection with `ck`, connects as `server_name` trusting `roots`, exchanges
/// a line both ways. Returns the client's error, if the handshake fails.
async fn handshake(
    ck: Arc<rustls::sign::CertifiedKey>,
    roots: Vec<CertificateDer<'static>>,
    server_name: &str,
) -> Result<(), String> {
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(ck)));
    let acceptor = TlsAcceptor::from(Arc::new(server_cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            return;
        };
        let mut buf = [0u8; 5];
        if tls.read_exact(&mut buf).await.is_ok() {
            let _ = tls.write_all(b"pong!").await;
            let _ = tls.shutdown().await;
        }
    });

    let mut store = rustls::RootCertStore::empty();
    for r in roots {
        store.add(r).unwrap();
    }
    let client_cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client_cfg));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let result = async {
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping!").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        assert_eq!(&buf, b"pong!");
        Ok(())
    }
    .await;
    let _ = server.await;
    result
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);
impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn leaf(store: &CertStore, t: &Thumbprint) -> CertificateDer<'static> {
    store.chain_der(StoreName::My, t).unwrap().remove(0)
}

#[tokio::test]
async fn self_signed_ecdsa_and_rsa_are_accepted_as_server_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let store = CertStore::open(dir.path()).unwrap();
    for key_type in [KeyType::EcdsaP256, KeyType::Rsa2048] {
        let mut opts = SelfSignedOptions::new(vec!["localhost".into(), "127.0.0.1".into()]);
        opts.key_type = key_type;
        let t = store.new_self_signed(&opts).unwrap();
        let ck = store.certified_key(&t).unwrap();
        let roots = vec![leaf(&store, &t)];
        handshake(ck.clone(), roots.clone(), "localhost")
            .await
            .unwrap_or_else(|e| panic!("{key_type}: DNS name: {e}"));
        handshake(ck.clone(), roots.clone(), "127.0.0.1")
            .await
            .unwrap_or_else(|e| panic!("{key_type}: IP SAN: {e}"));
        // A name the certificate does not carry is refused: the test can fail.
        let err = handshake(ck, roots, "other.test").await.unwrap_err();
        assert!(
            err.contains("NotValidForName") || err.contains("not valid for name"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = CertStore::open(dir.path()).unwrap();
    let t = store
        .new_self_signed(&SelfSignedOptions::new(vec!["localhost".into()]))
        .unwrap();
    let other = store
        .new_self_signed(&SelfSignedOptions::new(vec!["localhost".into()]))
        .unwrap();
    let err = handshake(
        store.certified_key(&t).unwrap(),
        vec![leaf(&store, &other)],
        "localhost",
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("BadSignature"),
        "{err}"
    );
}

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate issued by an intermediate of an openssl-made CA, imported from PEM with its
/// chain: the server sends leaf + intermediate, and a client trusting only the root accepts.
#[tokio::test]
async fn chain_from_an_openssl_ca_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=Test Root",
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "int.key",
            "-out",
            "int.csr",
            "-subj",
            "/CN=Test Intermediate",
        ],
    );
    std::fs::write(
        d.join("int.ext"),
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "int.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "int.pem",
            "-days",
            "2",
            "-extfile",
            "int.ext",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=chain.test",
        ],
    );
    std::fs::write(
        d.join("leaf.ext"),
        "subjectAltName=DNS:chain.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "int.pem",
            "-CAkey",
            "int.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ],
    );
    // leaf, then the chain in the wrong order with the root: the store orders it.
    let mut bundle = std::fs::read(d.join("leaf.pem")).unwrap();
    bundle.extend(std::fs::read(d.join("root.pem")).unwrap());
    bundle.extend(std::fs::read(d.join("int.pem")).unwrap());
    let key = std::fs::read(d.join("leaf.key")).unwrap();

    let sdir = tempfile::tempdir().unwrap();
    let store = CertStore::open(sdir.path()).unwrap();
    let out = store
        .import_pem(&bundle, Some(&key), StoreName::My)
        .unwrap();
    let ck = store.certified_key(&out.thumbprint).unwrap();
    assert_eq!(ck.cert.len(), 2, "leaf + intermediate, root left out");
    let info = store.get(StoreName::My, &out.thumbprint).unwrap();
    assert_eq!(info.key_type, "ECDSA P-384");
    assert!(info.server_auth && info.has_private_key);

    let root_pem = std::fs::read(d.join("root.pem")).unwrap();
    let root = rustls::pki_types::pem::PemObject::from_pem_slice(&root_pem).unwrap();
    handshake(ck.clone(), vec![root], "chain.test")
        .await
        .unwrap();
    // Serving the leaf alone would fail for that client: the intermediate matters.
    let alone = Arc::new(rustls::sign::CertifiedKey::new(
        vec![ck.cert[0].clone()],
        ck.key.clone(),
    ));
    let root = rustls::pki_types::pem::PemObject::from_pem_slice(&root_pem).unwrap();
    assert!(handshake(alone, vec![root], "chain.test").await.is_err());
}

/// The failure the issue guards against: a self-signed certificate marked CA:TRUE is
/// rejected by rustls as "CA used as end entity". Ours (CA:FALSE) pass the same handshake.
#[tokio::test]
async fn a_ca_certificate_as_server_certificate_is_rejected() {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = CertStore::open(dir.path()).unwrap();
    let out = store
        .import_pem(
            cert.pem().as_bytes(),
            Some(key.serialize_pem().as_bytes()),
            StoreName::My,
        )
        .unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("CA certificate in My")),
        "{:?}",
        out.warnings
    );
    let info = store.get(StoreName::My, &out.thumbprint).unwrap();
    assert!(info.is_ca && !info.server_auth);
    let ck = store.certified_key(&out.thumbprint).unwrap();
    let err = handshake(ck, vec![cert.der().clone()], "localhost")
        .await
        .unwrap_err();
    assert!(err.contains("CaUsedAsEndEntity"), "{err}");
}
