//! `tokens add/ls/rm`. A token's secret is shown once, when it is made;
//! the store keeps only its hash.

use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::join_token::{JoinRole, JoinToken};
use serde::Serialize;

use super::format::{duration, expires, humantime, unix};
use crate::Failure;
use crate::proto::{self, Outcome};

pub(super) async fn add(plane: &ControlPlane, request: proto::AddToken) -> Result<Outcome, Failure> {
    let role: JoinRole = request.kind.parse()?;
    let ttl = duration(&request.ttl)?;
    let (secret, token) = plane.add_token(role, ttl, !request.reusable).await?;
    let mut message = format!(
        "The join token is shown only now; it expires in {} and is for {}{}:\n\n{secret}\n",
        humantime(ttl),
        role.as_str(),
        if token.one_time { ", one use" } else { "" }
    );
    let service = match role {
        JoinRole::LinuxDesktop => Some("linux_desktop_service:\n  enabled: yes\n"),
        JoinRole::WindowsDesktop => {
            Some("windows_desktop_service:\n  enabled: yes\n  credentials_file: /etc/oriel/windows-credentials.yaml\n  static_hosts: [...]\n")
        }
        JoinRole::Proxy => None,
    };
    if let Some(service) = service {
        // The pin lets the new host refuse an auth server of another
        // cluster, or anything in the way, on its very first connection.
        let ca = plane.cert_authority().await.map_err(|e| Failure::new(crate::FailureKind::Internal, e.to_string()))?;
        let pin = oriel_auth::ca::ca_pin(ca.host_ca_pem()).unwrap_or_default();
        message.push_str(&format!(
            "\nOn the new host, run `oriel start --config oriel.yaml` with:\n\n\
             auth_server: <this auth service's address, port 3025>\n\
             proxy_server: <the proxy's tunnel address, port 3024>\n\
             join_token: {secret}\n\
             ca_pin: {pin}\n\
             {service}"
        ));
    }
    Ok(Outcome::message(message))
}

pub(super) async fn list(plane: &ControlPlane) -> Result<Outcome, Failure> {
    #[derive(Serialize)]
    struct TokenView {
        hash: String,
        roles: Vec<&'static str>,
        expires: u64,
        one_time: bool,
        used: bool,
    }
    let views: Vec<_> = plane
        .store()
        .tokens()
        .await?
        .into_iter()
        .map(|t| TokenView {
            hash: t.secret_hash[..16].to_owned(),
            roles: t.roles.iter().map(|r| r.as_str()).collect(),
            expires: unix(t.expires),
            one_time: t.one_time,
            used: t.used,
        })
        .collect();
    let rows = views
        .iter()
        .map(|v| {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(v.expires);
            vec![v.hash.clone(), v.roles.join(","), expires(Some(at)), if v.one_time { "one-time".into() } else { "reusable".into() }]
        })
        .collect();
    Ok(Outcome::records(&["Hash", "Type", "Expires", "Use"], rows, &views))
}

pub(super) async fn remove(plane: &ControlPlane, token: &str) -> Result<Outcome, Failure> {
    let found = find(plane, token).await?;
    plane.store().delete_token(&found.secret_hash).await?;
    Ok(Outcome::message(format!("Token {} has been deleted.", &found.secret_hash[..16])))
}

/// A token by the secret itself, `sha256:<hash>` as `get` writes it, or a
/// prefix of its hash of at least 16 hex digits as `tokens ls` shows it.
pub(super) async fn find(plane: &ControlPlane, name: &str) -> Result<JoinToken, Failure> {
    let secret_hash = oriel_auth::bearer::hash(name);
    let prefix = name.strip_prefix("sha256:").unwrap_or(name);
    let tokens = plane.store().tokens().await?;
    let found = tokens.into_iter().find(|t| t.secret_hash == secret_hash || (prefix.len() >= 16 && t.secret_hash.starts_with(prefix)));
    // The name may be the secret: it is not repeated.
    found.ok_or_else(|| Failure::not_found("token not found"))
}
