//! Helpers shared by the integration tests: run the real binaries, talk HTTP with curl.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REPORTCTL: &str = env!("CARGO_BIN_EXE_reportctl");
pub const REPORTD: &str = env!("CARGO_BIN_EXE_reportd");

/// A temp data dir with helpers to run reportctl/reportd on it.
pub struct Instance {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Instance {
    pub fn new() -> Instance {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        Instance { tmp, dir }
    }

    pub fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.tmp.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Runs reportctl with `--data-dir`; returns the output (any exit code).
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(REPORTCTL)
            .arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env("REPORTD_BIN", REPORTD)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs reportctl and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        assert!(
            o.status.success(),
            "reportctl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs reportctl and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let o = self.ctl(args);
        assert!(
            !o.status.success(),
            "reportctl {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stderr).into_owned()
    }

    /// Starts `reportd serve` in the foreground as a child process, serving `sockets`.
    pub fn spawn_server(&self, sockets: &Sockets) -> Child {
        let mut cmd = Command::new(REPORTD);
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        sockets.pass(&mut cmd);
        cmd.spawn().unwrap()
    }

    /// Runs reportctl with `sockets` passed on (`reportctl start` hands them to the server).
    pub fn ctl_with(&self, sockets: &Sockets, args: &[&str]) -> Output {
        let mut cmd = Command::new(REPORTCTL);
        cmd.arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env("REPORTD_BIN", REPORTD)
            .stdin(Stdio::null());
        sockets.pass(&mut cmd);
        cmd.output().unwrap()
    }

    /// Waits until the server answers on its management socket (it serves its ports then).
    pub fn wait_running(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.ctl(&["status"]).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Listening sockets bound here on port 0 before any server starts, handed to the servers
/// as inherited file descriptors (fds 3.., `LISTEN_FDS`, as systemd does): the server serves
/// each on the reservation naming its port, so no test ever probes a port and releases it.
/// While this value lives the test holds the ports too (connections wait in the backlog
/// until a server accepts); drop it to let the last server own them.
pub struct Sockets(Vec<TcpListener>);

impl Sockets {
    /// `n` dual-stack sockets on ports the kernel picks.
    pub fn new(n: usize) -> Sockets {
        Sockets(
            (0..n)
                .map(|_| httpsys::listener::listen_dual_stack(0).unwrap())
                .collect(),
        )
    }

    /// The port of socket `i`.
    pub fn port(&self, i: usize) -> u16 {
        self.0[i].local_addr().unwrap().port()
    }

    /// Makes `cmd` start with the sockets as fds 3.. and `LISTEN_FDS` saying how many.
    pub fn pass(&self, cmd: &mut Command) {
        use command_fds::{CommandFdExt, FdMapping};
        let mappings = self
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| FdMapping {
                parent_fd: s.try_clone().unwrap().into(),
                child_fd: 3 + i as i32,
            })
            .collect();
        cmd.fd_mappings(mappings)
            .unwrap()
            .env("LISTEN_FDS", self.0.len().to_string())
            .env_remove("LISTEN_PID")
            .env_remove("LISTEN_FDNAMES");
    }
}

/// Waits until something accepts on 127.0.0.1:port.
pub fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn port_closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// An HTTP answer seen by curl.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// GET `url` with curl, optionally with Basic credentials `user:pass`.
pub fn curl(url: &str, creds: Option<&str>, extra: &[&str]) -> Reply {
    let tmp = tempfile::tempdir().unwrap();
    let hdr = tmp.path().join("h");
    let mut c = Command::new("curl");
    c.args(["-sS", "--path-as-is", "-o", "-", "-D"])
        .arg(&hdr)
        .args(["-w", "\n%{http_code}"]);
    if let Some(u) = creds {
        c.args(["-u", u]);
    }
    c.args(extra).arg(url);
    let o = c.output().expect("curl runs");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = out.rsplit_once('\n').unwrap_or(("", "0"));
    Reply {
        status: code.trim().parse().unwrap_or(0),
        headers: std::fs::read_to_string(&hdr).unwrap_or_default(),
        body: body.to_owned(),
    }
}

pub fn read_to_string(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// A test that cannot run here for want of `missing`: fails under `CI=true` (CI must
/// provide it), otherwise prints `skipped: ...`; returns false for `if !... { return }`.
pub fn skipped(missing: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {missing}"
    );
    println!("skipped: {missing}");
    false
}

/// SHA-1 thumbprint (upper-case hex, no colons) of the first PEM certificate in `text`
/// (e.g. `openssl s_client -showcerts` output), by `openssl x509`; None without one.
pub fn pem_sha1(text: &str) -> Option<String> {
    use std::io::Write;
    const END: &str = "-----END CERTIFICATE-----";
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let end = text.find(END)? + END.len();
    let mut x = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    x.stdin
        .take()
        .unwrap()
        .write_all(&text.as_bytes()[begin..end])
        .unwrap();
    let o = x.wait_with_output().unwrap();
    let fp = String::from_utf8_lossy(&o.stdout);
    Some(fp.split('=').nth(1)?.trim().replace(':', ""))
}

/// Runs `openssl args` in `dir` and asserts success; returns stdout then stderr (some
/// commands report on stderr, "verify OK").
pub fn openssl_in(dir: &Path, args: &[&str]) -> String {
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
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Instance {
    /// `reportctl init` on `port` with the administrator `admin` whose password (one line)
    /// is `password`; returns init's stdout.
    pub fn init_admin(&self, port: u16, password: &str) -> String {
        let pw = self.file("admin.pw", format!("{password}\n").as_bytes());
        self.ok(&[
            "init",
            "--http-port",
            &port.to_string(),
            "--admin-user",
            "admin",
            "--admin-password-file",
            pw.to_str().unwrap(),
        ])
    }

    /// `reportctl status --json` warnings.
    pub fn warnings(&self) -> Vec<String> {
        let out = self.ok(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["warnings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// True when `tool arg` can be started (the tool is installed).
pub fn tool_runs(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// SHA-1 thumbprint of the certificate the server presents on 127.0.0.1:port with `sni`.
pub fn served(port: u16, sni: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", sni])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"").unwrap();
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    pem_sha1(&out)
}

/// The certificate of pebble's own https listener (the Debian package ships none): writes
/// `ca.pem`/`ca.key` (a CA made for it) and `localhost.pem`/`localhost.key` (localhost and
/// 127.0.0.1, signed by that CA) into `work`, which is created.
pub fn pebble_listener_cert(work: &Path) {
    std::fs::create_dir_all(work).unwrap();
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let ca_args = [
        &["req", "-x509"][..],
        &key,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/CN=pebble-listener-ca",
        ],
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    ]
    .concat();
    openssl_in(work, &ca_args);
    openssl_in(
        work,
        &[
            &["req"][..],
            &key,
            &[
                "-keyout",
                "localhost.key",
                "-out",
                "localhost.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        work.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl_in(
        work,
        &[
            "x509",
            "-req",
            "-in",
            "localhost.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            "ext.cnf",
            "-out",
            "localhost.pem",
        ],
    );
}

/// A TCP port nobody listens on, for as long as this value lives: a socket bound (port 0)
/// but not listening, so connecting to it is refused and no other process can take the
/// port meanwhile (unlike a port probed and released).
pub struct ClosedPort {
    _sock: socket2::Socket,
    pub port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        use socket2::{Domain, Socket, Type};
        let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        sock.bind(&addr.into()).unwrap();
        let port = sock.local_addr().unwrap().as_socket().unwrap().port();
        ClosedPort { _sock: sock, port }
    }
}

/// The protocol of a port in [`listening_ports`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// The ports process `pid` serves on: its TCP sockets in LISTEN (state `0A`) and its
/// unconnected UDP sockets (state `07`; a connected one is a client's), found by matching
/// the socket inodes of `/proc/PID/fd` against `/proc/PID/net/{tcp,tcp6,udp,udp6}`. For
/// programs that bind port 0 from their configuration (pebble, pebble-challtestsrv) and
/// take no inherited socket: the port they got is read back, none is probed beforehand.
pub fn listening_ports(pid: u32) -> Vec<(Proto, u16)> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let inodes: Vec<String> = fds
        .filter_map(|e| {
            let link = std::fs::read_link(e.ok()?.path()).ok()?;
            let link = link.to_str()?;
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = Vec::new();
    for (table, proto, state) in [
        ("tcp", Proto::Tcp, "0A"),
        ("tcp6", Proto::Tcp, "0A"),
        ("udp", Proto::Udp, "07"),
        ("udp6", Proto::Udp, "07"),
    ] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
        for f in text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
        {
            if f.len() > 9 && f[3] == state && inodes.iter().any(|i| i == f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.push((proto, u16::from_str_radix(port, 16).unwrap()));
            }
        }
    }
    ports.sort_unstable_by_key(|&(proto, port)| (proto == Proto::Udp, port));
    ports.dedup();
    ports
}

/// Waits (at most 20 s) until `child` serves `tcp` TCP and `udp` UDP ports (see
/// [`listening_ports`]) and returns them (TCP first); panics, naming `what`, if it exits
/// first, does not get there in time, or serves more.
pub fn wait_listening(child: &mut Child, what: &str, tcp: usize, udp: usize) -> Vec<(Proto, u16)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ports = listening_ports(child.id());
        let n = |p| ports.iter().filter(|(proto, _)| *proto == p).count();
        let (t, u) = (n(Proto::Tcp), n(Proto::Udp));
        if t >= tcp && u >= udp {
            assert!(
                t == tcp && u == udp,
                "{what} serves {ports:?}, expected {tcp} TCP and {udp} UDP ports"
            );
            return ports;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what} exited ({status}) before it listened");
        }
        assert!(
            Instant::now() < deadline,
            "{what} does not listen within 20 s: it serves {ports:?}, expected {tcp} TCP and {udp} UDP ports"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when 127.0.0.1:port answers a plain HTTP request with HTTP. The request is sent
/// and the connection half-closed, so a server of another protocol (pebble-challtestsrv's
/// DNS over TCP) sees the end and closes at once: no timeout decides.
fn answers_http(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut got = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").is_ok()
        && s.shutdown(std::net::Shutdown::Write).is_ok()
        && s.read_to_end(&mut got).is_ok()
        && got.starts_with(b"HTTP/")
}

/// Child processes, killed (and waited for) on drop.
pub struct Kill(pub Vec<Child>);

impl Drop for Kill {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// pebble and pebble-challtestsrv, started by [`start_pebble`] (stopped on drop of `procs`).
pub struct Pebble {
    pub procs: Kill,
    /// The ACME directory URL.
    pub directory: String,
    /// The CA file of pebble's https (see [`pebble_listener_cert`]).
    pub ca: String,
    /// pebble's management port (`/roots/0` is the root its certificates chain to).
    pub mgmt_port: u16,
    /// pebble-challtestsrv's management port.
    pub dns_mgmt: u16,
}

/// pebble (its https on a CA the test makes) with pebble-challtestsrv as DNS: every name
/// is 127.0.0.1, HTTP-01 goes to `http_port`, TLS-ALPN-01 to `tls_port` (ports pebble
/// connects to: the caller's, bound already). With `no_authz_reuse` every order validates
/// (by default pebble reuses half of the valid authorizations). Both programs bind port 0
/// for each of their listeners (they take no inherited socket); their ports are read back
/// from /proc ([`wait_listening`]). Returns once both answer.
pub fn start_pebble(work: &Path, http_port: u16, tls_port: u16, no_authz_reuse: bool) -> Pebble {
    pebble_listener_cert(work);
    let quiet = || std::process::Stdio::null();
    // -dns01 serves DNS on UDP and on TCP, each bound separately (two ports for :0);
    // pebble's resolver asks over UDP, so -dnsserver gets the UDP one.
    let dns = Command::new("pebble-challtestsrv")
        .args(["-dns01", "127.0.0.1:0"])
        .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
        .args(["-management", "127.0.0.1:0"])
        .args(["-defaultIPv6", ""])
        .stdout(quiet())
        .stderr(quiet())
        .spawn()
        .unwrap();
    let mut procs = Kill(vec![dns]);
    let ports = wait_listening(&mut procs.0[0], "pebble-challtestsrv", 2, 1);
    let dns_port = ports[2].1;
    // Of the two TCP ports, the management one speaks HTTP (the other is DNS over TCP).
    let mgmt: Vec<u16> = ports[..2]
        .iter()
        .map(|&(_, p)| p)
        .filter(|&p| answers_http(p))
        .collect();
    assert_eq!(
        mgmt.len(),
        1,
        "pebble-challtestsrv: not one HTTP port of {ports:?}"
    );
    let dns_mgmt = mgmt[0];
    let config = serde_json::json!({"pebble": {
        "listenAddress": "127.0.0.1:0",
        "managementListenAddress": "127.0.0.1:0",
        "certificate": work.join("localhost.pem"),
        "privateKey": work.join("localhost.key"),
        "httpPort": http_port,
        "tlsPort": tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    }});
    std::fs::write(work.join("pebble.json"), config.to_string()).unwrap();
    let mut pebble = Command::new("pebble");
    pebble
        .arg("-config")
        .arg(work.join("pebble.json"))
        .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .stdout(quiet())
        .stderr(quiet());
    if no_authz_reuse {
        pebble.env("PEBBLE_AUTHZREUSE", "0");
    }
    procs.0.push(pebble.spawn().unwrap());
    let ports = wait_listening(&mut procs.0[1], "pebble", 2, 0);
    let ca = work.join("ca.pem").to_str().unwrap().to_owned();
    // Both are https; the ACME one serves the directory, the management one 404.
    let dir_at = |p: u16| format!("https://localhost:{p}/dir");
    let t = Instant::now();
    let acme_port = loop {
        let status: Vec<u16> = ports
            .iter()
            .map(|&(_, p)| curl(&dir_at(p), None, &["--cacert", &ca]).status)
            .collect();
        match status[..] {
            [200, 404] => break ports[0].1,
            [404, 200] => break ports[1].1,
            _ => assert!(
                t.elapsed() < Duration::from_secs(20),
                "pebble: no ACME directory on {ports:?}: GET /dir answered {status:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mgmt_port = ports
        .iter()
        .map(|&(_, p)| p)
        .find(|&p| p != acme_port)
        .unwrap();
    Pebble {
        procs,
        directory: dir_at(acme_port),
        ca,
        mgmt_port,
        dns_mgmt,
    }
}
