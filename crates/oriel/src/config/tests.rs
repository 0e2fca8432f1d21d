//! The config file: every key, its defaults, and a clear error for each
//! kind of mistake (path, line and column named).

use std::time::Duration;

use super::windows::StaticHost;
use super::*;

fn error(text: &str) -> String {
    Config::parse("oriel.yaml", text).expect_err("should be refused").to_string()
}

#[test]
fn the_sample_parses_and_says_what_it_shows() {
    let config = Config::parse("sample", SAMPLE).unwrap();
    assert!(config.auth_service.enabled && config.proxy_service.enabled && config.linux_desktop_service.enabled);
    assert_eq!(config.auth_service.listen_addr.to_string(), "127.0.0.1:3025");
    assert_eq!(config.auth_service.storage.as_deref(), Some("sqlite"));
    assert_eq!(config.proxy_service.web_listen_addr.to_string(), "127.0.0.1:3080");
    assert_eq!(config.proxy_service.connection_limits, oriel_proxy::ConnectionLimits { per_address: 256, total: 10_000 });
    let desktop = &config.linux_desktop_service;
    assert_eq!(desktop.listen_addr.to_string(), "0.0.0.0:3029");
    assert_eq!(desktop.labels.get("environment").map(String::as_str), Some("dev"));
    assert_eq!(desktop.commands, [LabelCommand { name: "arch".into(), command: vec!["uname".into(), "-m".into()], period: Duration::from_secs(3600) }]);
}

#[test]
fn the_seed_example_loads_unchanged() {
    // Seed 001's linux_desktop_service section, on a host that joins.
    let text = r#"
auth_server: auth.example.com:3025
join_token: abc
linux_desktop_service:
  enabled: yes # default false
  listen_addr: 0.0.0.0:3029
  public_addr: linux.desktop.example.com:3080
  xsessions:
    included: "^Xfce.*" # defaults to ^.*$
    excluded: ".*restricted" #defaults to no excludes
  labels:
      environment: dev
  commands:
    - name: arch
      command: [uname, -p]
      period: 1h0m0s
"#;
    let config = Config::parse("oriel.yaml", text).unwrap();
    assert!(!config.auth_service.enabled && !config.proxy_service.enabled);
    let desktop = &config.linux_desktop_service;
    assert!(desktop.enabled);
    assert_eq!(desktop.public_addr.as_deref(), Some("linux.desktop.example.com:3080"));
    assert!(desktop.xsessions.offers("Xfce Session"));
    assert!(!desktop.xsessions.offers("Xfce restricted"));
    assert!(!desktop.xsessions.offers("GNOME"));
    assert_eq!(config.join_token, Some(JoinToken("abc".into())));
}

#[test]
fn defaults_when_keys_are_absent() {
    let config = Config::parse("oriel.yaml", "auth_service:\nproxy_service:\nlinux_desktop_service:\n").unwrap();
    assert!(config.auth_service.enabled && config.proxy_service.enabled, "auth and the proxy run where their section is");
    let off = Config::parse(
        "oriel.yaml",
        "auth_server: a:3025\nauth_service:\n  enabled: no\nproxy_service: {enabled: false}\nlinux_desktop_service: {enabled: yes}\n",
    )
    .unwrap();
    assert!(!off.auth_service.enabled && !off.proxy_service.enabled, "unless they say enabled: no");
    assert!(!config.linux_desktop_service.enabled, "the desktop service is off unless enabled (seed 001)");
    assert_eq!(config.proxy_service.tunnel_listen_addr.to_string(), "127.0.0.1:3024");
    assert!(config.linux_desktop_service.xsessions.offers("anything"));
}

#[test]
fn unknown_keys_are_named_with_their_path_and_place() {
    assert_eq!(
        error("auth_service:\n  enabled: yes\n  listen_adr: 127.0.0.1:3025\n"),
        "oriel.yaml:3:3: auth_service.listen_adr: unknown key (expected one of: enabled, listen_addr, storage, connection_limits, audit_retention, audit_sessions_uri)"
    );
    let top = error("auth_service:\n  enabled: yes\nproxy:\n  enabled: yes\n");
    assert!(top.starts_with("oriel.yaml:3:1: proxy: unknown key"), "{top}");
    let nested = error("linux_desktop_service:\n  enabled: yes\n  xsessions:\n    include: x\nauth_service: {enabled: yes}\n");
    assert!(nested.starts_with("oriel.yaml:4:5: linux_desktop_service.xsessions.include: unknown key"), "{nested}");
}

#[test]
fn bad_values_are_named_with_their_path() {
    let cases = [
        ("auth_service:\n  enabled: maybe\n", "auth_service.enabled: expected yes or no, found \"maybe\""),
        ("auth_service:\n  enabled: yes\n  listen_addr: localhost\n", "auth_service.listen_addr: \"localhost\" is not an address with a port"),
        ("auth_service:\n  enabled: yes\n  storage: mysql://x\n", "auth_service.storage: storage \"mysql://x\" is not understood"),
        (
            "auth_service:\n  enabled: yes\n  storage: postgres://u:pw@db.example.com/o\n",
            "auth_service.storage: PostgreSQL at db.example.com would be reached over TCP without TLS",
        ),
        ("auth_service: {enabled: yes}\nproxy_server: nowhere\n", "proxy_server: \"nowhere\" is not host:port"),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  xsessions:\n    included: \"(\"\n",
            "linux_desktop_service.xsessions.included: not a regular expression",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  labels:\n    \"bad label\": x\n",
            "linux_desktop_service.labels.bad label: \"bad label\" is not a label name",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  commands:\n    - name: arch\n      command: []\n      period: 1h\n",
            "linux_desktop_service.commands[0].command: must name a program",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  commands:\n    - name: arch\n      command: [uname]\n      period: 0s\n",
            "linux_desktop_service.commands[0].period: must be longer than zero",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  commands:\n    - name: arch\n      command: [uname]\n",
            "linux_desktop_service.commands[0]: period is missing",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  commands:\n    - name: arch\n      command: [uname]\n      period: soon\n",
            "linux_desktop_service.commands[0].period:",
        ),
        (
            "auth_service: {enabled: yes}\nlinux_desktop_service:\n  labels: {arch: x}\n  commands:\n    - {name: arch, command: [uname], period: 1h}\n",
            "label \"arch\" is both static",
        ),
        ("version: v2\nauth_service: {enabled: yes}\n", "version: unsupported version \"v2\""),
        ("auth_service: [yes]\n", "auth_service: expected a mapping, found a list"),
        (
            "auth_service: {}\nproxy_service:\n  connection_limits:\n    max_total: 0\n",
            "proxy_service.connection_limits.max_total: 0 is out of range (from 1 to 1000000)",
        ),
        (
            "auth_service: {}\nproxy_service:\n  connection_limits:\n    max_per_address: lots\n",
            "proxy_service.connection_limits.max_per_address: expected a whole number, found a string",
        ),
        ("auth_service: {}\nproxy_service:\n  connection_limits:\n    max_per_address: -1\n", "max_per_address: -1 is out of range"),
        (
            "auth_service: {}\nproxy_service:\n  connection_limits:\n    max_per_address: 20\n    max_total: 10\n",
            "proxy_service.connection_limits: max_per_address (20) is more than max_total (10)",
        ),
        (
            "auth_service: {}\nproxy_service:\n  connection_limits:\n    max: 10\n",
            "proxy_service.connection_limits.max: unknown key (expected one of: max_per_address, max_total)",
        ),
    ];
    for (text, expected) in cases {
        let message = error(text);
        assert!(message.contains(expected), "for {text:?}\n  got: {message}\n  expected to contain: {expected}");
    }
}

#[test]
fn connection_limits_default_when_absent_and_are_read_when_given() {
    let config = Config::parse("oriel.yaml", "auth_service:\nproxy_service:\n").unwrap();
    assert_eq!(config.proxy_service.connection_limits, oriel_proxy::ConnectionLimits::default());
    let text = "auth_service:\nproxy_service:\n  connection_limits:\n    max_per_address: 8\n";
    let config = Config::parse("oriel.yaml", text).unwrap();
    assert_eq!(config.proxy_service.connection_limits, oriel_proxy::ConnectionLimits { per_address: 8, total: 10_000 });
    assert_eq!(config.proxy_service.tunnel_connection_limits, oriel_proxy::ConnectionLimits::SERVICES);
    let text = "auth_service:\n  connection_limits: {max_total: 500}\nproxy_service:\n  tunnel_connection_limits: {max_total: 300}\nlinux_desktop_service:\n  enabled: yes\n  connection_limits: {max_per_address: 3, max_total: 9}\n";
    let config = Config::parse("oriel.yaml", text).unwrap();
    assert_eq!(config.auth_service.connection_limits, oriel_proxy::ConnectionLimits { per_address: 256, total: 500 });
    assert_eq!(config.proxy_service.tunnel_connection_limits, oriel_proxy::ConnectionLimits { per_address: 256, total: 300 });
    assert_eq!(config.linux_desktop_service.connection_limits, oriel_proxy::ConnectionLimits { per_address: 3, total: 9 });
}

#[test]
fn rules_across_sections() {
    assert!(error("auth_service: {enabled: no}\n").contains("no service is enabled"));
    assert!(error("linux_desktop_service: {enabled: yes}\n").contains("set auth_server"));
    assert!(error("proxy_service: {enabled: yes}\n").contains("auth_service and proxy_service together"));
    assert!(error("auth_service: {enabled: yes}\nlinux_desktop_service: {enabled: yes}\n").contains("auth_service and proxy_service together"));
    assert!(error("proxy_server: p.example.com:3024\nlinux_desktop_service: {enabled: yes}\n").contains("set auth_server"));
}

#[test]
fn proxies_and_the_ca_pin() {
    let pin = format!("sha256:{}", "ab".repeat(32));
    let text = format!("auth_server: a:3025\nca_pin: {pin}\nproxy_server: [p1:3024, p2:3024]\nlinux_desktop_service: {{enabled: yes}}\n");
    let config = Config::parse("oriel.yaml", &text).unwrap();
    assert_eq!(config.proxy_servers, ["p1:3024", "p2:3024"]);
    assert_eq!(config.ca_pin, Some(pin));
    let one = Config::parse("oriel.yaml", "auth_server: a:3025\nproxy_server: p:3024\nlinux_desktop_service: {enabled: yes}\n").unwrap();
    assert_eq!(one.proxy_servers, ["p:3024"]);
    assert!(error("auth_server: a:3025\nproxy_server: [p:3024, 7]\nlinux_desktop_service: {enabled: yes}\n").contains("proxy_server[1]"));
    assert!(error("auth_server: a:3025\nca_pin: sha256:12\nlinux_desktop_service: {enabled: yes}\n").contains("ca_pin"));
}

#[test]
fn a_desktop_only_host_needs_a_ca_pin_unless_told_to_trust_on_first_use() {
    use oriel_cluster::join::CaTrust;
    let pin = format!("sha256:{}", "ab".repeat(32));
    let pinned = Config::parse("oriel.yaml", &format!("auth_server: a:3025\nca_pin: {pin}\nlinux_desktop_service: {{enabled: yes}}\n")).unwrap();
    assert_eq!(pinned.ca_trust(), Ok(CaTrust::Pinned(pin)));
    let mut unpinned = Config::parse("oriel.yaml", "auth_server: a:3025\nlinux_desktop_service: {enabled: yes}\n").unwrap();
    let refused = unpinned.ca_trust().unwrap_err();
    assert!(refused.contains("set ca_pin") && refused.contains("--insecure-no-ca-pin") && refused.contains("insecure_no_ca_pin: true"), "{refused}");
    unpinned.insecure_no_ca_pin = true; // what `oriel start --insecure-no-ca-pin` does
    assert_eq!(unpinned.ca_trust(), Ok(CaTrust::InsecureFirstUse));
    let insecure = Config::parse("oriel.yaml", "auth_server: a:3025\ninsecure_no_ca_pin: true\nlinux_desktop_service: {enabled: yes}\n").unwrap();
    assert_eq!(insecure.ca_trust(), Ok(CaTrust::InsecureFirstUse));
}

#[test]
fn yaml_syntax_errors_and_several_documents_are_refused() {
    assert!(error("auth_service: {enabled: yes\n").starts_with("oriel.yaml:"));
    assert!(error("auth_service: {enabled: yes}\n---\nproxy_service: {}\n").contains("one document expected"));
    assert!(error("").contains("empty"));
}

#[test]
fn the_join_token_is_never_shown() {
    let config = Config::parse("oriel.yaml", "auth_server: a.example.com:3025\njoin_token: s3cr3t-token\nlinux_desktop_service: {enabled: yes}\n").unwrap();
    assert!(!format!("{config:?}").contains("s3cr3t"));
}

#[test]
fn session_limits_default_when_absent_are_read_when_given_and_checked() {
    use oriel_linux_desktop::SessionLimits;
    use oriel_linux_desktop::x11::screen::MaxScreen;
    let config = Config::parse("sample", SAMPLE).unwrap();
    assert_eq!(config.linux_desktop_service.limits, SessionLimits::default());
    let text = "auth_service:\nproxy_service:\nlinux_desktop_service:\n  enabled: yes\n  limits:\n    max_sessions: 20\n    max_sessions_per_user: 2\n    max_shared_directories: 0\n    max_screen: 3840x2160\n";
    let config = Config::parse("oriel.yaml", text).unwrap();
    assert_eq!(
        config.linux_desktop_service.limits,
        SessionLimits { max_sessions: 20, max_sessions_per_user: 2, max_shared_directories: 0, max_screen: MaxScreen::new(3840, 2160) }
    );
    let too_many = error("linux_desktop_service:\n  limits:\n    max_sessions: 2\n    max_sessions_per_user: 3\n");
    assert!(too_many.contains("max_sessions_per_user (3) is more than max_sessions (2)"), "{too_many}");
    let bad_screen = error("linux_desktop_service:\n  limits:\n    max_screen: 9000x100\n");
    assert!(bad_screen.contains("linux_desktop_service.limits.max_screen") && bad_screen.contains("WIDTHxHEIGHT"), "{bad_screen}");
}

#[test]
fn the_disconnect_grace_defaults_to_ten_minutes_takes_zero_and_has_a_ceiling() {
    let config = Config::parse("sample", SAMPLE).unwrap();
    assert_eq!(config.linux_desktop_service.disconnect_grace, Duration::from_secs(600));
    assert_eq!(Config::default().linux_desktop_service.disconnect_grace, Duration::from_secs(600));
    let read = |value: &str| {
        let text = format!("auth_service:\nproxy_service:\nlinux_desktop_service:\n  enabled: yes\n  disconnect_grace: {value}\n");
        Config::parse("oriel.yaml", &text).map(|c| c.linux_desktop_service.disconnect_grace)
    };
    assert_eq!(read("0").unwrap(), Duration::ZERO);
    assert_eq!(read("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(read("1h30m").unwrap(), Duration::from_secs(5400));
    let long = error("linux_desktop_service:\n  disconnect_grace: 25h\n");
    assert!(long.contains("linux_desktop_service.disconnect_grace") && long.contains("at most 24h"), "{long}");
    let bad = error("linux_desktop_service:\n  disconnect_grace: soon\n");
    assert!(bad.contains("linux_desktop_service.disconnect_grace"), "{bad}");
}

#[test]
fn the_x_server_is_xvfb_unless_xvnc_is_asked_for() {
    use oriel_linux_desktop::xvfb::XServer;
    let config = |text: &str| Config::parse("oriel.yaml", text).unwrap().linux_desktop_service.x_server;
    assert_eq!(config("auth_service:\nproxy_service:\nlinux_desktop_service:\n  enabled: yes\n"), XServer::Xvfb);
    assert_eq!(config("auth_service:\nproxy_service:\nlinux_desktop_service:\n  enabled: yes\n  x_server: xvnc\n"), XServer::Xvnc);
    let bad = error("linux_desktop_service:\n  x_server: xorg\n");
    assert!(bad.contains("linux_desktop_service.x_server") && bad.contains("neither xvfb nor xvnc"), "{bad}");
}

#[test]
fn windows_desktop_service_takes_teleports_keys_and_says_what_is_missing() {
    let text = "auth_service:\nproxy_service:\nwindows_desktop_service:\n  enabled: yes\n  credentials_file: /etc/oriel/creds.yaml\n  \
                static_hosts:\n    - name: dev-win\n      addr: 192.0.2.10\n      ad: false\n      certificate_file: /etc/oriel/dev.crt\n      \
                labels:\n        env: dev\n    - addr: win2.example.com:3390\n      certificate_file: /etc/oriel/w2.crt\n  \
                host_labels:\n    - match: '^dev-'\n      labels:\n        team: a\n    - match: 'example\\.com$'\n      labels:\n        env: prod\n        zone: b\n";
    let config = Config::parse("oriel.yaml", text).unwrap();
    let windows = &config.windows_desktop_service;
    assert!(windows.enabled);
    assert_eq!(config.services(), ["auth_service", "proxy_service", "windows_desktop_service"]);
    let [dev, second] = &windows.static_hosts[..] else { panic!("two hosts") };
    assert_eq!((dev.addr.as_str(), dev.server_name.as_str()), ("192.0.2.10:3389", "192.0.2.10"), "RDP's port when none is given");
    assert_eq!(second.name, "win2-example-com-3390", "named after its address, as Teleport does");
    assert_eq!(second.server_name, "win2.example.com");
    let labels = |host| windows.labels_of(host).into_iter().collect::<Vec<_>>();
    assert_eq!(labels(dev), [("env".to_owned(), "dev".to_owned()), ("team".to_owned(), "a".to_owned())]);
    assert_eq!(labels(second), [("env".to_owned(), "prod".to_owned()), ("zone".to_owned(), "b".to_owned())], "every matching rule, by address");
    // A host's own label wins over a rule's.
    let own = StaticHost { labels: [("env".to_owned(), "mine".to_owned())].into(), ..second.clone() };
    assert_eq!(windows.labels_of(&own)["env"], "mine");

    let with = |section: &str| error(&format!("auth_service:\nproxy_service:\nwindows_desktop_service:\n{section}"));
    let host = "  credentials_file: /c\n  static_hosts:\n    - name: w\n      addr: 10.0.0.1\n";
    assert!(
        with(&format!("{host}      ad: true\n      certificate_file: /w.crt\n"))
            .contains("oriel.yaml:8:11: windows_desktop_service.static_hosts[0].ad: ad: true signs in with smart-card")
    );
    assert!(with(host).contains("certificate_file is missing"));
    assert!(with("  enabled: yes\n").contains("credentials_file is missing"));
    assert!(with("  ldap:\n    addr: dc.example.com:636\n").contains("ldap is set but discovery is not"));
    let ldap = "  ldap:\n    addr: dc.example.com:636\n    domain: example.com\n    username: cn=oriel,dc=example,dc=com\n    password_file: /p\n    ldap_ca_file: /ca.pem\n";
    assert!(with(&format!("{ldap}  discovery:\n    filters: ['(a=b)']\n")).contains("base_dn is missing"));
    assert!(with(&format!("{ldap}    insecure_skip_verify: true\n  discovery:\n    base_dn: '*'\n")).contains("always checks the directory's certificate"));
    assert!(
        with("  ldap:\n    addr: dc:636\n    username: u\n    password_file: /p\n  discovery:\n    base_dn: x\n")
            .contains("ldap_ca_cert or ldap_ca_file is missing")
    );
    assert!(with("  static_hosts:\n    - name: 'a b'\n      addr: h\n").contains("is not a desktop name"));
    assert!(with("  host_labels:\n    - labels: {a: b}\n").contains("match is missing"));
    assert!(with("  host_labels:\n    - match: '('\n").contains("not a regular expression"));
    let twice = "  static_hosts:\n    - {name: w, addr: a, certificate_file: /c}\n    - {name: w, addr: b, certificate_file: /c}\n";
    assert!(with(twice).contains("the name \"w\" is used twice"));
    let found = Config::parse(
        "oriel.yaml",
        &format!("auth_service:\nproxy_service:\nwindows_desktop_service:\n{ldap}  discovery:\n    base_dn: '*'\n    filters: ['(location=Berlin)']\n    label_attributes: [location]\n  discovery_interval: 1m0s\n"),
    )
    .unwrap();
    let discovery = found.windows_desktop_service.discovery.expect("discovery");
    assert_eq!(discovery.base_dn, "DC=example,DC=com", "'*' is the domain's DN, as in Teleport");
    assert_eq!((discovery.rdp_port, discovery.interval, discovery.start_tls), (3389, Duration::from_secs(60), false));
    assert_eq!((discovery.filters, discovery.label_attributes), (vec!["(location=Berlin)".to_owned()], vec!["location".to_owned()]));
    assert_eq!(discovery.host_ca_file, None, "without the hosts' CA, discovered hosts are listed and not served");
    let with_ca = Config::parse(
        "oriel.yaml",
        &format!("auth_service:\nproxy_service:\nwindows_desktop_service:\n{ldap}  discovery:\n    base_dn: '*'\n    host_ca_file: /etc/oriel/domain-ca.pem\n    rdp_port: 3390\n    filters: ['(memberOf=CN=RDP Hosts,DC=example,DC=com)']\n"),
    )
    .unwrap();
    let discovery = with_ca.windows_desktop_service.discovery.expect("discovery");
    let unfiltered =
        error(&format!("auth_service:\nproxy_service:\nwindows_desktop_service:\n{ldap}  discovery:\n    base_dn: '*'\n    host_ca_file: /c.pem\n"));
    assert!(unfiltered.contains("add filters that select only the computers trusted"), "{unfiltered}");
    assert_eq!((discovery.host_ca_file.as_deref(), discovery.rdp_port), (Some(std::path::Path::new("/etc/oriel/domain-ca.pem")), 3390));
    let alone = Config::parse(
        "oriel.yaml",
        "auth_server: a:3025\nwindows_desktop_service:\n  enabled: yes\n  credentials_file: /c\n  listen_addr: 127.0.0.1:3128\n  public_addr: w.example.com:3128\n",
    )
    .expect("a Windows desktop service on a host of its own");
    let service = alone.windows_desktop_service;
    assert_eq!((service.listen_addr.to_string(), service.public_addr.as_deref()), ("127.0.0.1:3128".to_owned(), Some("w.example.com:3128")));
    let both = error("auth_server: a:3025\nlinux_desktop_service:\n  enabled: yes\nwindows_desktop_service:\n  enabled: yes\n  credentials_file: /c\n");
    assert!(both.contains("one desktop service per oriel process"), "{both}");
}
