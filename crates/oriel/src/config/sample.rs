//! What `oriel configure` prints: every key, commented, with its default.
//! A test parses it, so the sample can never drift from the parser.

/// A commented `oriel.yaml` for one host running everything.
pub const SAMPLE: &str = r#"# oriel.yaml: which Oriel services this process runs, and how.
# Start with: oriel start --config oriel.yaml
version: v1

# Where Oriel keeps its state: host identity, certificates, the embedded
# database. Default: $XDG_DATA_HOME/oriel, else ~/.local/share/oriel.
#data_dir: /var/lib/oriel

# On a host that runs only linux_desktop_service, how it joins the cluster:
# the auth service's address, a token from `orielctl tokens add
# --type=linux_desktop` (needed at the first start only), and the CA pin that
# command prints (required: only with insecure_no_ca_pin: true, or `oriel
# start --insecure-no-ca-pin`, does the host trust the CA it meets first).
#auth_server: auth.example.com:3025
#join_token: 5b8a1c0e...
#ca_pin: sha256:9f2c...
#insecure_no_ca_pin: false
# The proxies' tunnel addresses (one, or a list): the service dials out to
# each and keeps the connection, so the proxy can reach it behind NAT.
#proxy_server: proxy.example.com:3024

# The control plane: users, roles, desktops, locks, certificates.
auth_service:
  enabled: yes
  # The mutual-TLS API for services and orielctl.
  listen_addr: 127.0.0.1:3025
  # sqlite (a file in data_dir) or a postgres:// URL: the unix socket on this
  # host with peer authentication (postgres:///oriel, or
  # postgres:///oriel?host=/path/to/socket/dir), or a server over TCP with
  # ?sslmode=verify-full&sslrootcert=/path/to/ca.pem (TLS and SCRAM only).
  storage: sqlite
  # How long audit events are kept (at least 1h).
  audit_retention: 8760h
  # Where session recordings are kept; by default data_dir/recordings. Or
  # an S3-compatible bucket, with credentials in the environment
  # (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY):
  # audit_sessions_uri: s3://bucket/recordings?endpoint=https://s3.example.com&region=us-east-1
  # Open connections to listen_addr (desktop services, orielctl): past
  # either cap a new connection is closed at once, before TLS.
  connection_limits:
    max_per_address: 256
    max_total: 2000

# The HTTPS web UI and API, and the reverse tunnel desktop services dial.
proxy_service:
  enabled: yes
  web_listen_addr: 127.0.0.1:3080
  tunnel_listen_addr: 127.0.0.1:3024
  # The address people use, when it is not web_listen_addr (behind a load
  # balancer): the desktop websocket accepts pages from it, and from the
  # address in each request's Host header, and from no other site.
  #public_addr: oriel.example.com:443
  # Open connections to web_listen_addr: past either cap a new connection
  # is closed at once, before TLS. An address is an IPv4 address or an IPv6
  # /64. `oriel start` raises its open-file limit to the hard limit; keep
  # the max_total of every listener together below that (it warns when not).
  connection_limits:
    max_per_address: 256
    max_total: 10000
  # The same for tunnel_listen_addr (desktop services keep one each).
  tunnel_connection_limits:
    max_per_address: 256
    max_total: 2000

# This host's Linux desktops (seed 001). Off unless enabled here.
linux_desktop_service:
  enabled: yes
  # Where a proxy may dial this service directly (it also keeps a tunnel to the proxy).
  listen_addr: 0.0.0.0:3029
  #public_addr: linux.desktop.example.com:3080
  # Which xsessions of /usr/share/xsessions are offered: those whose name
  # matches included and not excluded.
  xsessions:
    included: "^.*$"
    #excluded: ".*restricted"
  # Static labels, for roles' linux_desktop_labels.
  labels:
    environment: dev
  # Labels whose value a command prints, run every period without a shell.
  commands:
    - name: arch
      command: [uname, -m]
      period: 1h0m0s
  # Caps: sessions on this host and per user, directories one session
  # shares, and the largest screen (Xvfb starts at the browser's monitor,
  # at most this, and keeps width x height x 4 bytes for the session's life).
  limits:
    max_sessions: 100
    max_sessions_per_user: 10
    max_shared_directories: 16
    max_screen: 7680x4320
  # How long a session whose browser went away (a dropped network, a
  # closed tab, a proxy restart) keeps running to be resumed; 0 ends it
  # at once. The idle timeout and the login's expiry still end it.
  disconnect_grace: 10m0s
  # Each session's virtual X server: xvfb (holds a framebuffer of the
  # browser's monitor, at most limits.max_screen, from the start) or xvnc (TigerVNC's Xvnc as a virtual
  # X server only, no VNC port: it allocates the screen it shows and
  # reallocates on a resize, so an idle session holds far less memory;
  # package tigervnc-standalone-server).
  x_server: xvfb
  # Open connections to listen_addr (proxies dialling in), as above.
  connection_limits:
    max_per_address: 256
    max_total: 2000

# Windows desktops (or any RDP host), reached over RDP from this process
# (Teleport's keys; docs/windows.md). Off unless enabled here. Alone on a
# host near the RDP hosts, it joins with `orielctl tokens add
# --type=windows_desktop` (auth_server, proxy_server, join_token, ca_pin as
# for a Linux desktop host) and proxies reach it through its tunnel or at
# listen_addr.
#windows_desktop_service:
#  enabled: yes
#  listen_addr: 0.0.0.0:3028
#  public_addr: win-gw.example.com:3028
#  # The accounts each login of windows_desktop_logins signs in with, per
#  # host: a YAML file only its owner may read (chmod 600).
#  credentials_file: /etc/oriel/windows-credentials.yaml
#  static_hosts:
#    - name: dev-win
#      addr: 192.0.2.10:3389
#      # Smart-card sign-in through Active Directory is not built: ad: false.
#      ad: false
#      # The host's TLS certificate (PEM): the only one accepted from it.
#      certificate_file: /etc/oriel/dev-win.crt
#      labels:
#        environment: dev
#  # Labels for every host whose name or address matches.
#  host_labels:
#    - match: "^dev-"
#      labels:
#        team: desktops
#  disconnect_grace: 10m0s
"#;
